// Import: each package blob is read once (no unpacking to disk) into store objects (content with
// its metadata), one tree manifest, and the packager's record of it (`control/<blob>.json`: what
// its database needs, and the payload's paths in archive order). The blob's digest maps to the
// tree in the store's `packages/`, so a package imported once is never read again, whichever
// template asks for it. The packager reads its format; this file turns entries into objects.
import Foundation
import StrataArchive
import StrataCore
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads package blobs into the store for a packager.
public struct PackageImporter: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// Where the packager's record of `blob` is kept.
    public func recordPath(_ blob: SHA256Digest) -> String { store.packageRecordPath(blob) }

    /// Imports `blob` unless it was imported before by this `format`. Call under the store's
    /// writer lock.
    /// - Parameters:
    ///   - what: the package as messages name it (`name version`).
    ///   - read: reads the package file at the path given, passing every payload entry with its
    ///     content to the closure it is given (the packager's archive reader).
    ///   - makeRecord: the packager's record, from what `read` saw and the payload's paths in order.
    /// - Returns: the package, and whether it was read now (false: found in the store).
    public func importPackage<Record: PackageRecord>(
        blob: SHA256Digest, what: String, format: Int,
        read: (String, (ArchiveEntry, FileContent) throws -> Void) throws -> Void,
        makeRecord: ([String]) throws -> Record
    ) throws -> (ImportedPackage<Record>, Bool) {
        if let tree = try store.packageTree(blob: blob), let data = FileManager.default.contents(atPath: recordPath(blob)),
            let record = try? JSONDecoder().decode(Record.self, from: data), record.format == format
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
        var paths = [String]()
        var entries = [String: TreeEntry]()
        do {
            try read(store.blobs.path(of: blob)) { entry, content in
                Interruption.checkpoint()
                paths.append(entry.path)
                let path = entry.path.isEmpty ? "." : entry.path
                entries[path] = try treeEntry(entry, content, at: path)
            }
        } catch let error as StrataError {
            throw StrataError(error.code, "\(what) (\(blob.hex.prefix(12))…): \(error.message)")
        }
        let record = try makeRecord(paths)
        let manifest = TreeManifest(entries: Array(entries.values)).canonicalized()
        let tree = try store.writeTree(manifest)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try store.savePackageRecord(Array(try encoder.encode(record)), for: blob)
        try store.setPackageTree(blob: blob, tree: tree)
        return (try package(blob: blob, record: record, manifest: manifest), true)
    }

    /// One payload entry as the store keeps it; a file's content becomes an object that carries
    /// the package's date of it (dpkg and rpm leave files so dated).
    private func treeEntry(_ entry: ArchiveEntry, _ content: FileContent, at path: String) throws -> TreeEntry {
        let metadata = FileMetadata(
            mode: entry.mode, uid: entry.uid, gid: entry.gid, xattrs: entry.xattrs,
            mtime: entry.kind == .file ? entry.mtime : 0)
        var tree: TreeEntry
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
                tree = TreeEntry(
                    path: path, kind: .file, metadata: metadata, object: object, size: UInt64(hasher.count),
                    mtime: entry.mtime)
            } catch {
                temp.discard()
                throw error
            }
        case .directory:
            tree = TreeEntry(path: path, kind: .directory, metadata: metadata, mtime: entry.mtime)
        case .symlink(let target):
            tree = TreeEntry(path: path, kind: .symlink, metadata: metadata, target: target, mtime: entry.mtime)
        case .hardlink(let target):
            tree = TreeEntry(path: path, kind: .hardlink, metadata: metadata, target: target, mtime: entry.mtime)
        case .characterDevice(let major, let minor):
            tree = TreeEntry(
                path: path, kind: .characterDevice, metadata: metadata, major: major, minor: minor, mtime: entry.mtime)
        case .blockDevice(let major, let minor):
            tree = TreeEntry(
                path: path, kind: .blockDevice, metadata: metadata, major: major, minor: minor, mtime: entry.mtime)
        case .fifo:
            tree = TreeEntry(path: path, kind: .fifo, metadata: metadata, mtime: entry.mtime)
        }
        return tree
    }

    /// The package's entries in archive order (parents before children, hardlink targets first).
    private func package<Record: PackageRecord>(blob: SHA256Digest, record: Record, manifest: TreeManifest) throws
        -> ImportedPackage<Record>
    {
        let byPath = Dictionary(manifest.entries.map { ($0.path, $0) }, uniquingKeysWith: { _, b in b })
        var seen = Set<String>()
        var entries = [PackageEntry]()
        for path in record.paths {
            let key = path.isEmpty ? "." : path
            guard key != ".", seen.insert(key).inserted, let entry = byPath[key] else { continue }
            entries.append(try packageEntry(entry))
        }
        return ImportedPackage(blob: blob, file: store.blobs.path(of: blob), record: record, entries: entries)
    }

    private func packageEntry(_ entry: TreeEntry) throws -> PackageEntry {
        let kind: PackageEntry.Kind
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
        return PackageEntry(
            path: entry.path, kind: kind, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime)
    }
}
