// The store: ostree's "bare" model on top of the blob store, all under one root.
//
//   blobs/sha256/<64 hex>        downloads (see BlobStore.swift); shared with the proxy
//   objects/<2 hex>/<62 hex>     file objects: content with its mode (setuid included), uid, gid and
//                                xattrs applied and mtime 0, so it can be hardlinked into a tree as is;
//                                named by ObjectID (ObjectID.swift); never written after creation
//   trees/<64 hex>.json          tree manifests (TreeManifest.swift), named by the sha256 of their bytes
//   commits/<64 hex>.json        commits (Commit.swift), named by the sha256 of their bytes
//   refs/<name>                  "<commit hex>\n"; names like debian/12/minbase/amd64 (slashes are
//                                directories); replaced by rename(2)
//   packages/<blob hex>          "<tree hex>\n": the tree a package blob was imported as, so a package
//                                is imported once whichever template asks for it
//   control/<blob hex>.json      the packager's record of an imported package (dpkg's control members,
//                                rpm's header facts), beside its packages/ entry
//   cache/solv/<index hex>.v1.solv  libsolv's parse of an index blob (60 ms to load, not ~900 ms)
//   cache/verified/, cache/locks/   signatures verified and locks resolved before (ResultCache.swift)
//   logs/                        the whole output of failed maintainer scripts (the error names the file)
//   urls/<sha256 of url>         URLRecords.swift
//   lock                         flock(2) target serialising writers (Store+Lock.swift)
//   unsynced                     present while a writer has files not yet flushed (Store+DeferredSync.swift)
//   tmp/                         everything is written here first, then renamed into place
//
// Everything but refs/ and packages/ is named by content and immutable, so readers need no lock:
// a name either is absent or holds complete, verified bytes. `gc` (Store+GC.swift) is the only
// deleter; `fsck` (Store+Fsck.swift) re-hashes everything and changes nothing.
import CStrataShim
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// The content-addressed store: blobs, file objects, tree manifests, commits and refs.
///
/// Writers (anything that adds objects, trees, commits, refs or package entries) hold the writer
/// lock from the first object they add until the ref or package entry that makes it reachable is
/// written, so that a concurrent `gc` cannot collect their work in between; see
/// ``withWriterLock(_:)``. Readers take no lock.
public struct Store: Sendable {
    /// The directory holding everything.
    public let root: String
    /// The blob store under the same root (usable alone, as the proxy does).
    public let blobs: BlobStore
    /// Inside ``withDeferredSync(_:)``: the package entries waiting for the flush.
    var deferred: DeferredEntries?

    /// Opens (creating when needed) the store under `root`.
    /// - Throws: ``StrataError`` `.io` when the directories cannot be created.
    public init(root: String) throws {
        // Absolute: build trees under it are handed to tools that refuse a relative root (rpm
        // --root) or run in another working directory (the script sandbox).
        let root = Self.absolute(root)
        self.blobs = try BlobStore(root: root)
        self.root = root
        for dir in ["objects", "trees", "commits", "refs", "packages"] {
            try FileSystem.makeDirectories("\(root)/\(dir)")
        }
        // Builds' scratch trees (thousands of directories, made and removed every build) and
        // the object directories spread over the file system's block groups: ext4 without a
        // journal skips every inode freed in the last minutes when it allocates one, and a build
        // right after another otherwise allocates where that one just freed (compose 0.45-0.99 s
        // against 0.29-0.32 s, docs/benchmarks.md). Nothing but the placement of new directories
        // changes; file systems without the flag refuse it, and that is fine.
        for dir in ["tmp", "objects"] {
            let fd = open("\(root)/\(dir)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 {
                _ = strata_set_topdir(fd)
                close(fd)
            }
        }
    }

    /// Opens the store under `root` without creating anything, for commands that read it or only
    /// remove from it (`list`, `show`, `fsck`, `gc`): a mistyped `--store` must not become a new,
    /// empty, "consistent" store.
    /// - Throws: ``StrataError`` `.notFound` when no store is there (see ``exists(at:)``).
    public init(existing root: String) throws {
        guard Self.exists(at: root) else {
            throw StrataError(.notFound, "no store at \(root) (nothing has been built there)")
        }
        let root = Self.absolute(root)
        self.blobs = BlobStore(existing: root)
        self.root = root
    }

    /// `path` made absolute against the working directory (`..` and `.` left to the kernel).
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        let cwd = FileManager.default.currentDirectoryPath
        return path == "." ? cwd : "\(cwd)/\(path)"
    }

    /// Whether `root` holds a store: a directory with `blobs/sha256/` (every command that
    /// downloads makes it) or `refs/` (every build makes it).
    public static func exists(at root: String) -> Bool {
        var isDirectory: ObjCBool = false
        return ["blobs/sha256", "refs"].contains { name in
            FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    /// A new, empty file under `tmp/` for a writer to fill (then ``addObject(_:contentDigest:size:metadata:)``).
    public func makeTemporaryFile(hint: String = "object") throws -> TemporaryFile {
        try blobs.makeTemporaryFile(hint: hint)
    }

    var objectsDirectory: String { "\(root)/objects" }
    var treesDirectory: String { "\(root)/trees" }
    var commitsDirectory: String { "\(root)/commits" }
    var refsDirectory: String { "\(root)/refs" }
    var packagesDirectory: String { "\(root)/packages" }
    var temporaryDirectory: String { "\(root)/tmp" }
    var recordsDirectory: String { "\(root)/control" }
    var solverCacheDirectory: String { "\(root)/cache/solv" }
    /// Where a failed script's whole output is kept.
    public var logsDirectory: String { "\(root)/logs" }
    var lockPath: String { "\(root)/lock" }

    /// Every name the store keeps at its root; fsck names anything else.
    static let topLevelNames: Set<String> = [
        "blobs", "objects", "trees", "commits", "refs", "packages", "control", "cache", "logs", "urls", "lock", "tmp",
        "unsynced",
    ]

    /// Where a packager keeps its record of the imported package `blob`.
    public func packageRecordPath(_ blob: SHA256Digest) -> String { "\(recordsDirectory)/\(blob.hex).json" }

    /// Saves a packager's record of the imported package `blob` (replaced atomically).
    public func savePackageRecord(_ bytes: [UInt8], for blob: SHA256Digest) throws {
        try beforeUnflushedWrite()
        try blobs.replace(packageRecordPath(blob), with: bytes, hint: "record", durable: !defersSync)
    }

    /// Where the tree manifest `id` lives (whether or not it exists).
    public func treePath(_ id: SHA256Digest) -> String { "\(treesDirectory)/\(id.hex).json" }

    /// Where the commit `id` lives (whether or not it exists).
    public func commitPath(_ id: SHA256Digest) -> String { "\(commitsDirectory)/\(id.hex).json" }

    /// `path` relative to the root, for messages.
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}

extension FileSystem {
    /// Whether anything (a dangling symlink included) exists at `path`.
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The names in a directory, sorted bytewise; an absent directory has none.
    static func names(in directory: String) throws -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw StrataError(.io, "cannot list \(directory): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var names = [String]()
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Flushes a directory so that a rename into it survives a crash.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// `lstat(2)`, or nil when nothing is there.
    static func status(_ path: String) throws -> stat? {
        var st = stat()
        if lstat(path, &st) == 0 { return st }
        if errno == ENOENT { return nil }
        throw StrataError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))")
    }

    /// Removes a file; true when it was there.
    @discardableResult
    static func remove(_ path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw StrataError(.io, "cannot remove \(path): \(String(cString: strerror(errno)))")
    }
}
