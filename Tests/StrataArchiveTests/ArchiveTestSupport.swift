// Helpers for the StrataArchive tests: collecting what DebArchive reports, and parsing the
// `tar -tv`-style listings of the reference tools (`dpkg-deb -c` is GNU tar's, `bsdtar -tv`
// libarchive's) into comparable rows.
import Foundation
import StrataArchive
import StrataCore
import StrataTestSupport

#if canImport(Glibc)
    import Glibc
#endif

let isRoot = getuid() == 0

/// Everything ``DebArchive/read(_:control:data:)`` reports about one package.
struct ReadDeb {
    var control: [String: [UInt8]] = [:]
    var entries: [ArchiveEntry] = []
    /// SHA-256 of each regular file's streamed content.
    var contents: [String: SHA256Digest] = [:]

    static func read(_ path: String) throws -> ReadDeb {
        var result = ReadDeb()
        try DebArchive.read(
            path, control: { result.control = $0 },
            data: { entry, content in
                result.entries.append(entry)
                if entry.kind == .file {
                    var hasher = StreamingSHA256()
                    try content.forEachChunk { hasher.update($0) }
                    result.contents[entry.path] = hasher.finalize()
                }
            })
        return result
    }
}

/// One row of a `tar -tv` listing, reduced to what both sides can state.
struct ListedEntry: Hashable, CustomStringConvertible {
    var path: String
    var type: Character
    var mode: UInt32
    var owner: String
    var link: String?

    var description: String {
        "\(type) \(String(mode, radix: 8)) \(owner) \(path.isEmpty ? "." : path)\(link.map { " → \($0)" } ?? "")"
    }

    /// The row `entry` should produce; `owner` as the listing shows it.
    init(_ entry: ArchiveEntry, owner: String) {
        path = entry.path
        mode = entry.mode
        self.owner = owner
        switch entry.kind {
        case .file: type = "-"
        case .directory: type = "d"
        case .symlink(let target): (type, link) = ("l", target)
        case .hardlink(let target): (type, link) = ("h", target)
        case .characterDevice: type = "c"
        case .blockDevice: type = "b"
        case .fifo: type = "p"
        }
    }

    init(path: String, type: Character, mode: UInt32, owner: String, link: String? = nil) {
        (self.path, self.type, self.mode, self.owner, self.link) = (path, type, mode, owner, link)
    }

    /// `./usr/bin/` → `usr/bin`, `./` → `""`.
    static func normalise(_ path: Substring) -> String {
        var text = String(path)
        if text.hasPrefix("./") { text.removeFirst(2) }
        if text.hasSuffix("/") { text.removeLast() }
        return text == "." ? "" : text
    }

    /// `rwsr-xr-x` → 0o4755.
    static func bits(_ text: Substring) -> UInt32 {
        let chars = Array(text)
        var mode: UInt32 = 0
        for (index, char) in chars.prefix(9).enumerated() where char != "-" && char != "S" && char != "T" {
            mode |= 1 << (8 - index)
        }
        if chars.count >= 9 {
            if chars[2] == "s" || chars[2] == "S" { mode |= 0o4000 }
            if chars[5] == "s" || chars[5] == "S" { mode |= 0o2000 }
            if chars[8] == "t" || chars[8] == "T" { mode |= 0o1000 }
        }
        return mode
    }

    /// Parses GNU tar's (dpkg-deb -c) rows: `mode user/group size date time name [-> t | link to t]`,
    /// or bsdtar's: `mode nlink user group size month day year-or-time name …`.
    static func parse(_ listing: String, bsdtar: Bool) -> [ListedEntry] {
        listing.split(separator: "\n").map { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let owner = bsdtar ? "\(fields[2])/\(fields[3])" : String(fields[1])
            var rest = fields[(bsdtar ? 8 : 5)...].joined(separator: " ")[...]
            var link: String?
            let type = fields[0].first ?? "?"
            if let range = rest.range(of: " -> ") {
                link = String(rest[range.upperBound...])
                rest = rest[..<range.lowerBound]
            } else if let range = rest.range(of: " link to ") {
                link = normalise(rest[range.upperBound...])
                rest = rest[..<range.lowerBound]
            }
            return ListedEntry(
                path: normalise(rest), type: type, mode: bits(fields[0].dropFirst()), owner: owner, link: link)
        }
    }
}

/// SHA-256 of every regular file under `root` by relative path (symlinks not followed).
func hashRegularFiles(under root: String) throws -> [String: SHA256Digest] {
    var out: [String: SHA256Digest] = [:]
    guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
    while let relative = walker.nextObject() as? String {
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(root)/\(relative)")
        if attributes[.type] as? FileAttributeType == .typeRegular {
            out[relative] = try SHA256Digest.of(file: "\(root)/\(relative)")
        }
    }
    return out
}

/// Every file directly in `directory` as name → bytes.
func filesIn(_ directory: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
        out[name] = try FileReader.readAll("\(directory)/\(name)")
    }
    return out
}

/// Throws unless the libc call returned 0.
func posix(_ what: String, _ status: Int32) throws {
    guard status == 0 else { throw StrataError(.io, "\(what): \(String(cString: strerror(errno)))") }
}
