import Foundation
import StrataCore
import StrataStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("gc")
struct StoreGCTests {
    func object(_ store: Store, _ text: String) throws -> (ObjectID, TreeEntry) {
        let metadata = FileMetadata(mode: 0o644)
        let id = try store.addObject(bytes: Array(text.utf8), metadata: metadata)
        return (id, .file(text, object: id, size: UInt64(text.utf8.count), metadata: metadata))
    }

    @Test("gc --keep-history N keeps the newest N commits of each ref and what only older ones reached goes")
    func keepHistory() throws {
        let store = try makeStore()
        var commits = [SHA256Digest]()
        var objects = [ObjectID]()
        for n in 1...4 {
            let (id, entry) = try object(store, "build \(n)")
            objects.append(id)
            let tree = try store.writeTree(TreeManifest(entries: [entry]))
            commits.append(try store.writeCommit(Commit(tree: tree, parents: commits.suffix(1), timestamp: Int64(n))))
        }
        try store.setRef("debian/12/minbase/amd64", to: commits[3])
        let report = try store.gc(keepHistory: 2)
        #expect(report.commitsRemoved == 2)
        #expect(store.containsCommit(commits[3]) && store.containsCommit(commits[2]))
        #expect(!store.containsCommit(commits[1]) && !store.containsCommit(commits[0]))
        #expect(store.containsObject(objects[2]) && !store.containsObject(objects[1]))
        let fsck = try store.fsck()
        #expect(fsck.isClean, "\(fsck.problems)")
        // Without the limit the cut history stays cut and nothing more goes.
        #expect(try store.gc().commitsRemoved == 0)
    }

    @Test("gc keeps what refs and imported packages reach and removes the rest")
    func keepsReachable() throws {
        let store = try makeStore()
        let (a, fa) = try object(store, "a")
        let (b, fb) = try object(store, "b")
        let (c, fc) = try object(store, "c")
        let (d, fd) = try object(store, "d")
        let (e, fe) = try object(store, "e")
        let rootOnly = try store.writeTree(
            TreeManifest(entries: [.directory(".", metadata: FileMetadata(mode: 0o755))]))
        let referenced = try store.writeTree(TreeManifest(entries: [fa, fb]))
        let unreferenced = try store.writeTree(TreeManifest(entries: [fb, fc]))
        let packageTree = try store.writeTree(TreeManifest(entries: [fd]))
        let orphanPackageTree = try store.writeTree(TreeManifest(entries: [fe]))

        let parent = try store.writeCommit(Commit(tree: rootOnly, timestamp: 1))
        let head = try store.writeCommit(Commit(tree: referenced, parents: [parent], timestamp: 2))
        let stray = try store.writeCommit(Commit(tree: unreferenced, timestamp: 3))
        try store.setRef("debian/12/minbase/amd64", to: head)

        let packageBlob = try store.blobs.ingest(bytes: Array("a .deb".utf8), what: "pkg.deb")
        try store.setPackageTree(blob: packageBlob, tree: packageTree)
        let goneBlob = SHA256Digest.of(Array("a .deb removed by the proxy's cleaner".utf8))
        try store.setPackageTree(blob: goneBlob, tree: orphanPackageTree)

        let report = try store.gc()
        #expect(report.commitsRemoved == 1)
        #expect(report.treesRemoved == 2)
        #expect(report.objectsRemoved == 2)
        #expect(report.packageEntriesRemoved == 1)
        #expect(report.blobsRemoved == 0)
        #expect(report.commitsKept == 2)
        #expect(report.treesKept == 3)
        #expect(report.objectsKept == 3)
        #expect(report.bytesFreed > 0)

        for id in [a, b, d] { #expect(store.containsObject(id)) }
        for id in [c, e] { #expect(!store.containsObject(id)) }
        for id in [rootOnly, referenced, packageTree] { #expect(store.containsTree(id)) }
        for id in [unreferenced, orphanPackageTree] { #expect(!store.containsTree(id)) }
        #expect(store.containsCommit(head) && store.containsCommit(parent) && !store.containsCommit(stray))
        #expect(try store.packageTree(blob: packageBlob) == packageTree)
        #expect(try store.packageTree(blob: goneBlob) == nil)
        #expect(try store.fsck().isClean)

        let again = try store.gc()
        #expect(again.commitsRemoved + again.treesRemoved + again.objectsRemoved == 0)
    }

    @Test("deleting the ref lets gc take its commits, trees and objects")
    func deletedRef() throws {
        let store = try makeStore()
        let (a, fa) = try object(store, "a")
        let tree = try store.writeTree(TreeManifest(entries: [fa]))
        try store.setRef("t", to: try store.writeCommit(Commit(tree: tree, timestamp: 0)))
        #expect(try store.gc().objectsRemoved == 0)
        #expect(try store.deleteRef("t"))
        let report = try store.gc()
        #expect(report.commitsRemoved == 1 && report.treesRemoved == 1 && report.objectsRemoved == 1)
        #expect(!store.containsObject(a))
    }

    @Test("blobs go only with pruneBlobs, and never those imported or kept")
    func prunesBlobs() throws {
        let store = try makeStore()
        let (_, fa) = try object(store, "a")
        let imported = try store.blobs.ingest(bytes: Array("imported".utf8), what: "x")
        try store.setPackageTree(blob: imported, tree: try store.writeTree(TreeManifest(entries: [fa])))
        let locked = try store.blobs.ingest(bytes: Array("named by a lockfile".utf8), what: "x")
        let index = try store.blobs.ingest(bytes: Array("InRelease".utf8), what: "x")
        try URLRecords(store: store.blobs).save(
            URLRecord(url: "http://deb.example/InRelease", sha256: index, etag: nil, lastModified: nil))
        let unused = try store.blobs.ingest(bytes: Array("unused".utf8), what: "x")

        #expect(try store.gc(keepBlobs: [locked]).blobsRemoved == 0)
        #expect(store.blobs.contains(unused))
        let report = try store.gc(keepBlobs: [locked], pruneBlobs: true)
        #expect(report.blobsRemoved == 1)
        #expect(!store.blobs.contains(unused))
        for blob in [imported, locked, index] { #expect(store.blobs.contains(blob)) }
    }

    @Test("package records, solver caches and old logs go with what they belong to; fsck names what the store does not keep")
    func ownedDirectories() throws {
        let store = try makeStore()
        let (_, fa) = try object(store, "a")
        let kept = try store.blobs.ingest(bytes: Array("kept package".utf8), what: "x")
        let dropped = try store.blobs.ingest(bytes: Array("dropped package".utf8), what: "x")
        let tree = try store.writeTree(TreeManifest(entries: [fa]))
        try store.setPackageTree(blob: kept, tree: tree)
        try store.setPackageTree(blob: dropped, tree: tree)
        for blob in [kept, dropped] { try store.savePackageRecord(Array("{}".utf8), for: blob) }
        // Records are written under tmp/ and renamed: nothing of a writer's is left beside them.
        #expect(try filesIn("\(store.root)/control").count == 2)
        #expect(try filesIn("\(store.root)/tmp").isEmpty)
        let index = try store.blobs.ingest(bytes: Array("Packages".utf8), what: "x")
        let solv = "\(store.root)/cache/solv"
        try FileSystem.makeDirectories(solv)
        let gone = SHA256Digest.of(Array("an index pruned earlier".utf8))
        for digest in [index, gone] { try FileSystem.writeAtomically([1, 2, 3], to: "\(solv)/\(digest.hex).v1.solv") }
        try FileSystem.makeDirectories(store.logsDirectory)
        for name in ["old.configure.log", "new.configure.log"] {
            try FileSystem.writeAtomically(Array("log".utf8), to: "\(store.logsDirectory)/\(name)")
        }
        var times = [timeval(tv_sec: time(nil) - 40 * 86_400, tv_usec: 0), timeval(tv_sec: time(nil) - 40 * 86_400, tv_usec: 0)]
        #expect(utimes("\(store.logsDirectory)/old.configure.log", &times) == 0)
        try FileSystem.makeDirectories("\(store.root)/stray")

        // The dropped package's blob goes; its packages/ entry, then its record, with it.
        unlink(store.blobs.path(of: dropped))
        let fsck = try store.fsck()
        #expect(fsck.notes.contains { $0.hasPrefix("stray: not something the store keeps") })
        let report = try store.gc()
        #expect(report.packageEntriesRemoved == 1)
        #expect(report.recordsRemoved == 1)
        #expect(FileManager.default.fileExists(atPath: store.packageRecordPath(kept)))
        #expect(!FileManager.default.fileExists(atPath: store.packageRecordPath(dropped)))
        #expect(report.solverCachesRemoved == 1)
        #expect(try filesIn(solv) == ["\(index.hex).v1.solv"])
        #expect(report.logsRemoved == 1)
        #expect(try filesIn(store.logsDirectory) == ["new.configure.log"])
        #expect(try store.fsck().isClean)
    }

    @Test("gc removes stale tmp/ files and leaves fresh ones")
    func staleTemporaryFiles() throws {
        let store = try makeStore()
        let stale = try store.makeTemporaryFile()
        let fresh = try store.makeTemporaryFile()
        var times = [timeval(tv_sec: time(nil) - 7200, tv_usec: 0), timeval(tv_sec: time(nil) - 7200, tv_usec: 0)]
        #expect(utimes(stale.path, &times) == 0)
        let report = try store.gc(temporaryFileAge: .seconds(3600))
        #expect(report.temporaryFilesRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: fresh.path))
    }

    @Test("gc refuses to run when a ref's commit is damaged, and deletes nothing")
    func damagedRoot() throws {
        let store = try makeStore()
        let (a, fa) = try object(store, "a")
        let tree = try store.writeTree(TreeManifest(entries: [fa]))
        let commit = try store.writeCommit(Commit(tree: tree, timestamp: 0))
        try store.setRef("t", to: commit)
        try flipByte(store.commitPath(commit), at: 2)
        let error = #expect(throws: StrataError.self) { try store.gc() }
        #expect(error?.code == .verificationFailed)
        #expect(store.containsObject(a) && store.containsTree(tree))
    }
}
