// Import: each package blob is read once with libarchive (no unpacking to disk) into store
// objects (content with its metadata), one tree manifest, and a small record of what dpkg's
// database needs (the control members and the data paths in archive order). The blob's digest
// maps to the tree in the store's `packages/`, so a package imported once is never read again,
// whichever template asks for it.
import Foundation
import StrataArchive
import StrataCore
import StrataDeb
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

/// A package ready to compose.
struct ImportedPackage: Sendable {
    var blob: SHA256Digest
    var record: DebPackageRecord
    var entries: [ComposeEntry]

    /// Paths that the package ships as hardlinks, with their targets (merged-/usr paths).
    var declaredHardlinks: [String] {
        entries.flatMap { entry -> [String] in
            guard case .hardlink(let target) = entry.kind else { return [] }
            return [Composer.mergedPath(entry.path), Composer.mergedPath(target)]
        }
    }
}

/// What `packages/<blob>` does not hold: control members and the archive's path order.
struct PackageControlRecord: Codable {
    /// What the import recorded: 2 added each path's mtime to the tree, 3 dated the file objects
    /// as the package dates them. A record of an older format makes the package be read again.
    var format: Int?
    var name: String
    var architecture: String
    var control: [String: Data]
    var paths: [String]
}

struct Importer {
    static let format = 3
    let store: Store

    private func recordPath(_ blob: SHA256Digest) -> String { "\(store.root)/control/\(blob.hex).json" }

    /// Imports the .deb blob unless it was imported before. Call under the store's writer lock.
    /// - Returns: the package, and whether it was read now (false: found in the store).
    func importDeb(blob: SHA256Digest, what: String) throws -> (ImportedPackage, Bool) {
        if let tree = try store.packageTree(blob: blob), let data = FileManager.default.contents(atPath: recordPath(blob)),
            let record = try? JSONDecoder().decode(PackageControlRecord.self, from: data), record.format == Self.format
        {
            return (try package(blob: blob, record: record, manifest: store.readTree(tree)), false)
        }
        // A blob is only ever created verified, but disks and people change files: check it once
        // more before its content becomes objects, and drop it when it is not what its name says.
        let actual = try SHA256Digest.of(file: store.blobs.path(of: blob))
        guard actual == blob else {
            unlink(store.blobs.path(of: blob))
            throw StrataError(
                .verificationFailed,
                "\(what): the stored package is corrupt (sha256 \(actual.hex), expected \(blob.hex)); it was removed, "
                    + "run the build again to download it anew")
        }
        var control = [String: [UInt8]]()
        var paths = [String]()
        var entries = [String: TreeEntry]()
        let debPath = store.blobs.path(of: blob)
        do {
            try DebArchive.read(debPath, control: { control = $0 }) { entry, content in
                Interruption.checkpoint()
                paths.append(entry.path)
                let path = entry.path.isEmpty ? "." : entry.path
                // A file's object carries the package's date of it (dpkg leaves files so dated).
                let metadata = FileMetadata(
                    mode: entry.mode, uid: entry.uid, gid: entry.gid, xattrs: entry.xattrs,
                    mtime: entry.kind == .file ? entry.mtime : 0)
                switch entry.kind {
                case .file:
                    let temp = try store.makeTemporaryFile(hint: "import")
                    var hasher = StreamingSHA256()
                    do {
                        try content.forEachChunk { chunk in
                            hasher.update(chunk)
                            try temp.write(chunk)
                        }
                        let object = try store.addObject(
                            temp, contentDigest: hasher.finalize(), size: UInt64(hasher.count), metadata: metadata)
                        entries[path] = TreeEntry(
                            path: path, kind: .file, metadata: metadata, object: object, size: UInt64(hasher.count),
                            mtime: entry.mtime)
                    } catch {
                        temp.discard()
                        throw error
                    }
                case .directory:
                    entries[path] = TreeEntry(path: path, kind: .directory, metadata: metadata, mtime: entry.mtime)
                case .symlink(let target):
                    entries[path] = TreeEntry(path: path, kind: .symlink, metadata: metadata, target: target, mtime: entry.mtime)
                case .hardlink(let target):
                    entries[path] = TreeEntry(path: path, kind: .hardlink, metadata: metadata, target: target, mtime: entry.mtime)
                case .characterDevice(let major, let minor):
                    entries[path] = TreeEntry(
                        path: path, kind: .characterDevice, metadata: metadata, major: major, minor: minor, mtime: entry.mtime)
                case .blockDevice(let major, let minor):
                    entries[path] = TreeEntry(
                        path: path, kind: .blockDevice, metadata: metadata, major: major, minor: minor, mtime: entry.mtime)
                case .fifo:
                    entries[path] = TreeEntry(path: path, kind: .fifo, metadata: metadata, mtime: entry.mtime)
                }
            }
        } catch let error as StrataError {
            throw StrataError(error.code, "\(what) (\(blob.hex.prefix(12))…): \(error.message)")
        }
        guard let stanza = try Deb822.parse(String(decoding: control["control"] ?? [], as: UTF8.self), what: what).first,
            let name = stanza["Package"], let architecture = stanza["Architecture"]
        else { throw StrataError(.invalidInput, "\(what): the .deb has no usable control file") }
        // The name becomes a file name in the dpkg database: Debian policy's syntax only.
        guard name.range(of: "^[a-z0-9][a-z0-9+.-]+$", options: .regularExpression) != nil,
            architecture.range(of: "^[a-z0-9-]+$", options: .regularExpression) != nil
        else { throw StrataError(.invalidInput, "\(what): invalid package name or architecture '\(name)' / '\(architecture)'") }
        let manifest = TreeManifest(entries: Array(entries.values)).canonicalized()
        let tree = try store.writeTree(manifest)
        let record = PackageControlRecord(
            format: Self.format, name: name, architecture: architecture, control: control.mapValues { Data($0) }, paths: paths)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileSystem.writeAtomically(Array(try encoder.encode(record)), to: recordPath(blob))
        try store.setPackageTree(blob: blob, tree: tree)
        return (try package(blob: blob, record: record, manifest: manifest), true)
    }

    /// The package's entries in archive order (parents before children, hardlink targets first).
    private func package(blob: SHA256Digest, record: PackageControlRecord, manifest: TreeManifest) throws -> ImportedPackage {
        let byPath = Dictionary(manifest.entries.map { ($0.path, $0) }, uniquingKeysWith: { _, b in b })
        var seen = Set<String>()
        var entries = [ComposeEntry]()
        for path in record.paths {
            let key = path.isEmpty ? "." : path
            guard key != ".", seen.insert(key).inserted, let entry = byPath[key] else { continue }
            entries.append(try composeEntry(entry))
        }
        let deb = DebPackageRecord(
            name: record.name, architecture: record.architecture, control: record.control.mapValues { [UInt8]($0) },
            paths: record.paths)
        return ImportedPackage(blob: blob, record: deb, entries: entries)
    }

    private func composeEntry(_ entry: TreeEntry) throws -> ComposeEntry {
        let kind: ComposeEntry.Kind
        switch entry.kind {
        case .file:
            guard let object = entry.object else { throw StrataError.internalError("\(entry.path): file without object") }
            kind = .file(object: store.objectPath(object))
        case .directory: kind = .directory
        case .symlink: kind = .symlink(target: entry.target ?? "")
        case .hardlink: kind = .hardlink(target: entry.target ?? "")
        case .characterDevice: kind = .characterDevice(major: entry.major ?? 0, minor: entry.minor ?? 0)
        case .blockDevice: kind = .blockDevice(major: entry.major ?? 0, minor: entry.minor ?? 0)
        case .fifo: kind = .fifo
        }
        return ComposeEntry(
            path: entry.path, kind: kind, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime)
    }
}
