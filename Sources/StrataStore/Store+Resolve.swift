// What a person may type to name a commit: a ref (`debian/12/minbase/amd64`), a prefix of refs
// that names one (`debian/12` when only one ref is under it), a whole commit id, or an
// unambiguous prefix of one (the 12 hex digits `strata list` prints), as git accepts.
import Foundation
import StrataCore

extension Store {
    /// The shortest commit-id prefix accepted: shorter ones match by accident.
    public static let minimumCommitPrefix = 4

    /// The commit that `name` names.
    ///
    /// In order: a ref of that name; a whole commit id; then every ref under `name` (`name/…`, or
    /// failing that every ref whose name starts with `name`) and every commit whose id starts with
    /// `name` (4 or more hex digits): exactly one must match.
    /// - Throws: ``StrataError`` `.notFound` listing the refs when nothing matches; `.invalidInput`
    ///   listing the candidates when several do.
    public func resolveCommit(_ name: String) throws -> SHA256Digest {
        let refs = try self.refs()
        if let commit = refs[name] { return commit }
        if let id = try? SHA256Digest(hex: name), FileSystem.exists(commitPath(id)) { return id }

        let trimmed = name.hasSuffix("/") ? String(name.dropLast()) : name
        var refMatches = refs.filter { $0.key.hasPrefix(trimmed + "/") }
        if refMatches.isEmpty { refMatches = refs.filter { $0.key.hasPrefix(trimmed) } }
        var candidates = refMatches.sorted { $0.key < $1.key }.map { (label: $0.key, commit: $0.value) }

        let hex = name.lowercased()
        if hex.count >= Self.minimumCommitPrefix, hex.allSatisfy(\.isHexDigit) {
            let byID = try FileSystem.names(in: commitsDirectory).compactMap { file -> SHA256Digest? in
                guard file.hasSuffix(".json"), file.hasPrefix(hex) else { return nil }
                return try? SHA256Digest(hex: String(file.dropLast(".json".count)))
            }
            for id in byID where !candidates.contains(where: { $0.commit == id }) {
                candidates.append((label: "commit \(id.hex.prefix(12))", commit: id))
            }
        }

        if candidates.count == 1, let only = candidates.first { return only.commit }
        if candidates.isEmpty {
            let known = refs.keys.sorted()
            let listed = known.isEmpty ? "the store has no refs" : "refs: \(known.joined(separator: ", "))"
            throw StrataError(.notFound, "no ref or commit '\(name)' in \(root) (\(listed))")
        }
        let listed = candidates.map { "\($0.label) (\($0.commit.hex.prefix(12)))" }.joined(separator: ", ")
        throw StrataError(.invalidInput, "'\(name)' is ambiguous: it could be \(listed); give more of it")
    }
}
