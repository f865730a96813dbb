// Garbage collection: mark what the roots reach, delete the rest, under the writer lock.
//
// Roots: every ref's commit and its ancestors (parents absent from the store end the walk), and
// the tree of every `packages/` entry whose blob still exists. A reachable commit keeps its tree;
// a reachable tree keeps its objects. Everything else in `commits/`, `trees/` and `objects/` goes,
// as do `packages/` entries whose blob is gone. Blobs go only with `pruneBlobs`, and then only
// those neither imported (a `packages/` key), nor named by a `urls/` record, nor passed in
// `keepBlobs` (what the caller's lockfiles name), nor a kept commit's lockfile. Files in `tmp/` untouched for longer than the
// given age are a killed writer's leftovers and go too (the blob store's writers, the proxy
// among them, write there without the lock, hence the age). A packager's record in `control/`
// goes with its `packages/` entry, a solver cache in `cache/solv/` with its index blob, and a
// failed script's log in `logs/` after 30 days.
//
// A root that cannot be read (damaged commit or tree, ref to a missing commit) stops gc before it
// deletes anything: deleting what only that root reached would lose data fsck could still name.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// What ``Store/gc(keepBlobs:pruneBlobs:temporaryFileAge:)`` removed and kept.
public struct GCReport: Sendable, Equatable {
    public var commitsRemoved = 0
    public var treesRemoved = 0
    public var objectsRemoved = 0
    public var blobsRemoved = 0
    public var packageEntriesRemoved = 0
    public var temporaryFilesRemoved = 0
    /// Packager records (`control/`) of packages no longer imported.
    public var recordsRemoved = 0
    /// Solver caches (`cache/solv/`) of indexes no longer in the blob store.
    public var solverCachesRemoved = 0
    /// Failed scripts' logs (`logs/`) older than the log age.
    public var logsRemoved = 0
    /// Cached verifications of signed files no longer in the blob store, and cached locks not
    /// used for the log age (`cache/verified/`, `cache/locks/`).
    public var cachedResultsRemoved = 0
    /// Bytes of removed files that had no other link (an object still hardlinked into a checkout
    /// frees nothing).
    public var bytesFreed: UInt64 = 0
    public var commitsKept = 0
    public var treesKept = 0
    public var objectsKept = 0

    public init() {}
}

extension Store {
    /// Removes everything no ref or imported package reaches; see the top of Store+GC.swift.
    ///
    /// Takes the writer lock itself: do not call it inside ``withWriterLock(_:)``.
    /// - Parameters:
    ///   - keepBlobs: blobs to keep even when nothing imported them (those the lockfiles name).
    ///   - pruneBlobs: whether to remove blobs at all.
    ///   - temporaryFileAge: how long a file in `tmp/` must have gone unmodified to be removed.
    ///   - keepHistory: how many commits of each ref's history to keep, its own commit counted
    ///     (1: only the current one); all when `nil`. Older ones go, and the oldest kept commit's
    ///     parent is then missing, which fsck notes as history cut by gc.
    ///   - logAge: how old a failed script's log in `logs/` must be to be removed.
    /// - Returns: counts and bytes freed.
    /// - Throws: ``StrataError`` `.verificationFailed` or `.notFound` when a root cannot be read
    ///   (nothing is deleted then), `.io`.
    @discardableResult
    public func gc(
        keepBlobs: Set<SHA256Digest> = [], pruneBlobs: Bool = false, temporaryFileAge: Duration = .seconds(3600),
        keepHistory: Int? = nil, logAge: Duration = .seconds(30 * 86_400)
    ) throws -> GCReport {
        try withWriterLock {
            try recoverUnsynced()
            var report = GCReport()
            let packages = try packageTrees()

            // Mark.
            var commits = Set<SHA256Digest>()
            var trees = Set<SHA256Digest>()
            var locks = Set<SHA256Digest>()
            // A ref's commit must be there; a missing parent was pruned earlier and ends the history.
            var pending = try refs().values.map { (id: $0, required: true, depth: 1) }
            while let (id, required, depth) = pending.popLast() {
                guard !commits.contains(id), required || containsCommit(id) else { continue }
                let commit = try readCommit(id)
                commits.insert(id)
                trees.insert(commit.tree)
                if let lock = commit.lockDigest { locks.insert(lock) }
                if let keepHistory, depth >= keepHistory { continue }
                pending += commit.parents.map { (id: $0, required: false, depth: depth + 1) }
            }
            var deadPackages = [SHA256Digest]()
            for (blob, tree) in packages {
                if blobs.contains(blob) { trees.insert(tree) } else { deadPackages.append(blob) }
            }
            var objects = Set<ObjectID>()
            for tree in trees {
                for entry in try readTree(tree).entries {
                    if let object = entry.object { objects.insert(object) }
                }
            }

            // Sweep.
            for blob in deadPackages {
                try FileSystem.remove(packagePath(blob))
                report.packageEntriesRemoved += 1
            }
            for name in try FileSystem.names(in: commitsDirectory) {
                guard let id = Self.jsonName(name) else { continue }
                if commits.contains(id) {
                    report.commitsKept += 1
                } else {
                    report.bytesFreed += try removeCounting(commitPath(id))
                    report.commitsRemoved += 1
                }
            }
            for name in try FileSystem.names(in: treesDirectory) {
                guard let id = Self.jsonName(name) else { continue }
                if trees.contains(id) {
                    report.treesKept += 1
                } else {
                    report.bytesFreed += try removeCounting(treePath(id))
                    report.treesRemoved += 1
                }
            }
            for id in try objectIDs() {
                if objects.contains(id) {
                    report.objectsKept += 1
                } else {
                    report.bytesFreed += try removeCounting(objectPath(id))
                    report.objectsRemoved += 1
                }
            }
            if pruneBlobs {
                let keep = keepBlobs.union(packages.keys).union(try urlRecordBlobs()).union(locks)
                for name in try FileSystem.names(in: "\(root)/blobs/sha256") {
                    guard let blob = try? SHA256Digest(hex: name), blob.hex == name, !keep.contains(blob) else {
                        continue
                    }
                    report.bytesFreed += try removeCounting(blobs.path(of: blob))
                    report.blobsRemoved += 1
                }
            }
            // What the store keeps beside packages and indexes goes with them.
            let imported = Set(try packageTrees().keys)
            for name in try FileSystem.names(in: recordsDirectory) {
                guard let blob = Self.jsonName(name), !imported.contains(blob) else { continue }
                try FileSystem.remove("\(recordsDirectory)/\(name)")
                report.recordsRemoved += 1
            }
            for name in try FileSystem.names(in: solverCacheDirectory) {
                guard let hex = name.split(separator: ".").first, let index = try? SHA256Digest(hex: String(hex)),
                    !blobs.contains(index)
                else { continue }
                report.bytesFreed += try removeCounting("\(solverCacheDirectory)/\(name)")
                report.solverCachesRemoved += 1
            }
            let logCutoff = time(nil) - Int(logAge.components.seconds)
            let results = try ResultCache(store: blobs).collect(unusedSince: logCutoff)
            report.cachedResultsRemoved += results.files
            report.bytesFreed += results.bytes
            for name in try FileSystem.names(in: logsDirectory) {
                let path = "\(logsDirectory)/\(name)"
                guard let st = try FileSystem.status(path), st.st_mode & S_IFMT == S_IFREG, st.st_mtim.tv_sec < logCutoff
                else { continue }
                report.bytesFreed += try removeCounting(path)
                report.logsRemoved += 1
            }
            let cutoff = time(nil) - Int(temporaryFileAge.components.seconds)
            for name in try FileSystem.names(in: temporaryDirectory) {
                let path = "\(temporaryDirectory)/\(name)"
                guard let st = try FileSystem.status(path), st.st_mode & S_IFMT == S_IFREG,
                    st.st_mtim.tv_sec < cutoff
                else { continue }
                report.bytesFreed += try removeCounting(path)
                report.temporaryFilesRemoved += 1
            }
            return report
        }
    }

    /// Every object file's id, from the names under `objects/` (others are left for fsck to report).
    func objectIDs() throws -> [ObjectID] {
        var ids = [ObjectID]()
        for prefix in try FileSystem.names(in: objectsDirectory) where prefix.utf8.count == 2 {
            for rest in try FileSystem.names(in: "\(objectsDirectory)/\(prefix)") {
                if let id = try? ObjectID(hex: prefix + rest), id.hex == prefix + rest { ids.append(id) }
            }
        }
        return ids
    }

    /// The id in a `<64 hex>.json` name.
    static func jsonName(_ name: String) -> SHA256Digest? {
        guard name.hasSuffix(".json"), let id = try? SHA256Digest(hex: String(name.dropLast(5))),
            "\(id.hex).json" == name
        else { return nil }
        return id
    }

    /// Blobs `urls/` records name (index files the fetcher revalidates).
    private func urlRecordBlobs() throws -> Set<SHA256Digest> {
        var out = Set<SHA256Digest>()
        let directory = "\(root)/urls"
        for name in try FileSystem.names(in: directory) {
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)"),
                let record = try? JSONDecoder().decode(URLRecord.self, from: data)
            else { continue }
            out.insert(record.sha256)
        }
        return out
    }

    /// Removes a file; returns its size when that freed space (no other hardlink).
    private func removeCounting(_ path: String) throws -> UInt64 {
        guard let st = try FileSystem.status(path) else { return 0 }
        try FileSystem.remove(path)
        return st.st_nlink <= 1 ? UInt64(st.st_size) : 0
    }
}
