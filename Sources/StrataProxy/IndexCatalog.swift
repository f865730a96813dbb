// What the cached indexes say about other files: the sha256 and size each names, by cache key.
// A Release file names its Packages files (relative to `dists/<suite>/`), a Packages file names
// its .debs (relative to the archive root, the part of the path before `dists/`); repomd.xml names
// the rpm-md files and primary.xml the .rpm packages (relative to the directory holding
// `repodata/`). A download of a named file is checked against the name before it is stored.
//
// The proxy does not verify the signatures of the indexes it caches (its clients do, with their
// own keyrings); the catalog guards against corruption, truncation and a mirror serving other
// bytes under a name, which is what a cache can otherwise make permanent.
import Foundation
import StrataArchive
import StrataCore
import StrataDeb
import StrataRPM
import StrataStore
import Synchronization

/// The sha256 and size an index names for a file.
struct ExpectedContent: Sendable, Equatable {
    let sha256: SHA256Digest
    let size: UInt64?
}

final class IndexCatalog: Sendable {
    private struct State {
        /// Cache key → what an index names for it.
        var expected: [ExactString: ExpectedContent] = [:]
        /// sha256 → the index path a Release file names with it, so that a by-hash download
        /// of a Packages file is parsed like the Packages file.
        var indexByHash: [SHA256Digest: String] = [:]
    }
    private let state = Mutex(State())

    func expected(for key: String) -> ExpectedContent? {
        if let digest = Self.digestInName(key) { return ExpectedContent(sha256: digest, size: nil) }
        return state.withLock { $0.expected[ExactString(key)] }
    }

    var count: Int { state.withLock { $0.expected.count } }

    /// Whether an index names the file at `key`.
    func isNamed(_ key: String) -> Bool { state.withLock { $0.expected[ExactString(key)] != nil } }

    /// Every sha256 an index names (for `clean`).
    var referencedDigests: Set<SHA256Digest> { state.withLock { Set($0.expected.values.map(\.sha256)) } }

    /// Whether the file at `key` is an index worth reading for hashes.
    func isCatalogued(_ key: String) -> Bool {
        if Self.kind(of: key) != nil { return true }
        guard key.contains("/by-hash/SHA256/"), let digest = Self.digestInName(key) else { return false }
        return state.withLock { $0.indexByHash[digest] }.map { Self.kind(of: $0) == .packages } ?? false
    }

    enum Kind { case release, packages, repomd, primary }

    static func kind(of key: String) -> Kind? {
        let name = key.split(separator: "/").last.map(String.init) ?? key
        if name == "InRelease" || name == "Release" { return .release }
        if name == "Packages" || name.hasPrefix("Packages.") || name == "Sources" || name.hasPrefix("Sources.") {
            return .packages
        }
        if name == "repomd.xml" { return .repomd }
        if name.hasSuffix("primary.xml") || name.contains("primary.xml.") { return .primary }
        return nil
    }

    /// `…/by-hash/SHA256/<hex>` and `repodata/<64 hex>-name` carry their own sha256.
    static func digestInName(_ key: String) -> SHA256Digest? {
        // Segments by bytes, compared by bytes (ExactString.swift says why).
        let parts = key.utf8.split(separator: UInt8(ascii: "/"))
        guard let name = parts.last else { return nil }
        func `is`(_ part: some Collection<UInt8>, _ word: String) -> Bool { part.elementsEqual(word.utf8) }
        if parts.count >= 3, `is`(parts[parts.count - 2], "SHA256"), `is`(parts[parts.count - 3], "by-hash") {
            return try? SHA256Digest(hex: String(decoding: name, as: UTF8.self))
        }
        if let directory = parts.dropLast().last, `is`(directory, "repodata"), name.count > 65,
            name[name.index(name.startIndex, offsetBy: 64)] == UInt8(ascii: "-")
        {
            return try? SHA256Digest(hex: String(decoding: name.prefix(64), as: UTF8.self))
        }
        return nil
    }

    /// Reads every cached index among `entries` (Release files first: they say which by-hash
    /// files are Packages files); one that does not parse is skipped.
    func add(entries: [CacheEntry], blobs: BlobStore) {
        let ordered =
            entries.filter { Self.kind(of: $0.key) == .release } + entries.filter { Self.kind(of: $0.key) != .release }
        for entry in ordered where isCatalogued(entry.key) {
            try? add(key: entry.key, file: blobs.path(of: entry.sha256))
        }
    }

    /// Reads the index cached under `key` from `file` and records what it names.
    /// - Throws: ``StrataError`` when the file does not parse; the catalog is unchanged then.
    func add(key: String, file: String) throws {
        var kind = Self.kind(of: key)
        var effectiveKey = key
        if kind == nil, let digest = Self.digestInName(key), let named = state.withLock({ $0.indexByHash[digest] }) {
            kind = Self.kind(of: named)
            effectiveKey = named
        }
        guard let kind else { return }
        var found: [ExactString: ExpectedContent] = [:]
        var hashes: [SHA256Digest: String] = [:]
        switch kind {
        case .release:
            let text = Self.stripClearsign(String(decoding: try FileReader.readAll(file), as: UTF8.self))
            let release = try ReleaseFile(text: text, what: key)
            let dir = String(effectiveKey.prefix(upTo: effectiveKey.lastIndex(of: "/") ?? effectiveKey.endIndex))
            for (path, entry) in release.files {
                let named = "\(dir)/\(path)"
                found[ExactString(named)] = ExpectedContent(sha256: entry.sha256, size: entry.size)
                hashes[entry.sha256] = named
            }
        case .packages:
            guard let range = effectiveKey.range(of: "/dists/") else { return }
            let root = String(effectiveKey[..<range.lowerBound])
            let bytes = try Decompressor.decompress(file: file, what: key, limit: 1 << 30)
            for (path, sha256, size) in Self.scanPackages(bytes) {
                found[ExactString("\(root)/\(path)")] = ExpectedContent(sha256: sha256, size: size)
            }
        case .repomd:
            let repomd = try RepomdFile(bytes: try FileReader.readAll(file), what: key)
            let base = Self.repositoryBase(of: effectiveKey)
            for entry in repomd.entries.values {
                guard let checksum = entry.checksum, checksum.type == "sha256",
                    let digest = try? SHA256Digest(hex: checksum.hex)
                else { continue }
                found[ExactString("\(base)/\(entry.location)")] = ExpectedContent(sha256: digest, size: entry.size)
            }
        case .primary:
            let base = Self.repositoryBase(of: effectiveKey)
            let bytes = try Decompressor.decompress(file: file, what: key, limit: 1 << 30)
            for (path, sha256, size) in Self.scanPrimary(bytes) {
                found[ExactString("\(base)/\(path)")] = ExpectedContent(sha256: sha256, size: size)
            }
        }
        state.withLock { state in
            state.expected.merge(found) { _, new in new }
            state.indexByHash.merge(hashes) { _, new in new }
        }
    }

    /// The key prefix of the directory holding `repodata/`.
    static func repositoryBase(of key: String) -> String {
        if let range = key.range(of: "/repodata/", options: .backwards) { return String(key[..<range.lowerBound]) }
        return String(key.prefix(upTo: key.lastIndex(of: "/") ?? key.endIndex))
    }

    /// The signed text of a clearsigned message (dash-escaping undone), or `text` unchanged.
    static func stripClearsign(_ text: String) -> String {
        guard text.hasPrefix("-----BEGIN PGP SIGNED MESSAGE-----") else { return text }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        while let line = lines.first, !line.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        lines = lines.dropFirst()
        var out: [Substring] = []
        for line in lines {
            if line.hasPrefix("-----BEGIN PGP SIGNATURE-----") { break }
            out.append(line.hasPrefix("- ") ? line.dropFirst(2) : line)
        }
        return out.joined(separator: "\n")
    }

    /// `Filename`, `SHA256` and `Size` of every stanza of a Packages (or Sources-like) file.
    static func scanPackages(_ bytes: [UInt8]) -> [(String, SHA256Digest, UInt64?)] {
        var out: [(String, SHA256Digest, UInt64?)] = []
        var filename: String?
        var sha256: SHA256Digest?
        var size: UInt64?
        func flush() {
            if let filename, let sha256 { out.append((filename, sha256, size)) }
            filename = nil
            sha256 = nil
            size = nil
        }
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            let count = buffer.count
            while start <= count {
                var end = start
                while end < count && buffer[end] != 0x0a { end += 1 }
                if end == start {
                    flush()
                } else if buffer[start] != 0x20 && buffer[start] != 0x09 {
                    let line = buffer[start..<end]
                    if let colon = line.firstIndex(of: 0x3a) {
                        let field = line[start..<colon]
                        var valueStart = colon + 1
                        while valueStart < end && buffer[valueStart] == 0x20 { valueStart += 1 }
                        let value = { String(decoding: buffer[valueStart..<end], as: UTF8.self) }
                        if field.elementsEqual("Filename".utf8) {
                            filename = value()
                        } else if field.elementsEqual("SHA256".utf8) {
                            sha256 = try? SHA256Digest(hex: value())
                        } else if field.elementsEqual("Size".utf8) {
                            size = UInt64(value())
                        }
                    }
                }
                start = end + 1
            }
        }
        flush()
        return out
    }

    /// `location href`, sha256 `checksum` and `size package` of every `<package>` in primary.xml.
    static func scanPrimary(_ bytes: [UInt8]) -> [(String, SHA256Digest, UInt64?)] {
        let text = String(decoding: bytes, as: UTF8.self)
        var out: [(String, SHA256Digest, UInt64?)] = []
        for block in text.components(separatedBy: "<package ").dropFirst() {
            guard let checksum = attributeElement(block, open: "<checksum type=\"sha256\"", close: "</checksum>"),
                let digest = try? SHA256Digest(hex: checksum),
                let href = attribute(block, element: "<location", name: "href"),
                !href.hasBytePrefix("/"), !href.contains("://"),
                !href.utf8.split(separator: UInt8(ascii: "/")).contains(where: { $0.elementsEqual("..".utf8) })
            else { continue }
            let size = attribute(block, element: "<size", name: "package").flatMap { UInt64($0) }
            out.append((href, digest, size))
        }
        return out
    }

    private static func attributeElement(_ text: String, open: String, close: String) -> String? {
        guard let start = text.range(of: open), let gt = text[start.upperBound...].firstIndex(of: ">"),
            let end = text[gt...].range(of: close)
        else { return nil }
        return text[text.index(after: gt)..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func attribute(_ text: String, element: String, name: String) -> String? {
        guard let start = text.range(of: element), let end = text[start.upperBound...].firstIndex(of: ">") else {
            return nil
        }
        let tag = text[start.upperBound..<end]
        guard let attr = tag.range(of: " \(name)=\"") else { return nil }
        guard let close = tag[attr.upperBound...].firstIndex(of: "\"") else { return nil }
        return String(tag[attr.upperBound..<close])
    }
}
