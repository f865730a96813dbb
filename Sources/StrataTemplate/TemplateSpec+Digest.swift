import Foundation
import StrataCore

extension TemplateSpec {
    /// SHA-256 of the canonical JSON form of what the spec resolves to: family, architecture,
    /// settings, repositories, packages, selectors, drops, dummies, excludes, cleanup and the
    /// other files' content digests. Keys are sorted and every list keeps its meaningful order.
    ///
    /// Left out on purpose: the target and set names (`debian/12` on amd64 and `debian/12/amd64`
    /// resolving to the same content share a digest) and any path of the template directory
    /// (the same tree checked out elsewhere gives the same digest).
    /// - Throws: ``StrataError`` `.internalError` if encoding fails, which it should not.
    public func computeConfigDigest() throws -> SHA256Digest {
        let canonical = Canonical(
            format: 1, family: family.rawValue, architecture: architecture.debian, settings: settings,
            repositories: repositories, packages: packages, selectors: selectors.map(\.description),
            dropped: dropped, dummies: dummies, excludes: excludes, cleanup: cleanup,
            files: Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.digest.hex) }), base: base)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return SHA256Digest.of(try encoder.encode(canonical))
        } catch {
            throw StrataError.internalError("cannot encode the template spec: \(error)")
        }
    }

    /// The serialised form; `format` changes whenever the layout does, so old digests never
    /// collide with new ones.
    private struct Canonical: Encodable {
        var format: Int
        var family: String
        var architecture: String
        var settings: [String: String]
        var repositories: [RepositorySpec]
        var packages: [String]
        var selectors: [String]
        var dropped: [String]
        var dummies: [DummyPackage]
        var excludes: [String]
        var cleanup: [String]
        var files: [String: String]
        /// Absent (not null) for a base set, so that their digests stay as they were.
        var base: String?
    }
}
