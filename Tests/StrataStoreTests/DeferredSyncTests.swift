import Foundation
import StrataCore
import StrataStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Objects written in a batch are flushed once; what makes them reachable waits for the flush,
/// and a batch cut short by the machine going down leaves nothing torn behind for the next writer.
@Suite("Deferred flushing of a writer's batch", .enabled(if: isRoot, "deferred flushing is for root's stores"))
struct DeferredSyncTests {
    static func object(_ store: Store, _ text: String) throws -> (ObjectID, TreeEntry) {
        let metadata = FileMetadata(mode: 0o644)
        let id = try store.addObject(bytes: Array(text.utf8), metadata: metadata)
        return (id, .file(text, object: id, size: UInt64(text.utf8.count), metadata: metadata))
    }

    static func marker(_ store: Store) -> String { "\(store.root)/unsynced" }

    @Test("package entries are written only after the flush; a failed batch writes none; no marker is left")
    func entriesAfterFlush() throws {
        let store = try makeStore()
        let blob = try store.blobs.ingest(bytes: Array("a package".utf8), what: "x")
        try store.withWriterLock {
            try store.withDeferredSync { batch in
                #expect(!FileManager.default.fileExists(atPath: Self.marker(store)), "no marker before a write")
                let (_, entry) = try Self.object(batch, "content")
                let tree = try batch.writeTree(TreeManifest(entries: [entry]))
                try batch.setPackageTree(blob: blob, tree: tree)
                #expect(FileManager.default.fileExists(atPath: Self.marker(store)))
                #expect(try store.packageTree(blob: blob) == nil, "the entry waits for the flush")
            }
        }
        #expect(try store.packageTree(blob: blob) != nil)
        #expect(!FileManager.default.fileExists(atPath: Self.marker(store)))
        #expect(try store.fsck().isClean)

        let other = try store.blobs.ingest(bytes: Array("another package".utf8), what: "x")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try store.withWriterLock {
                try store.withDeferredSync { batch in
                    let (_, entry) = try Self.object(batch, "more content")
                    try batch.setPackageTree(blob: other, tree: try batch.writeTree(TreeManifest(entries: [entry])))
                    throw Stop()
                }
            }
        }
        #expect(try store.packageTree(blob: other) == nil)
        #expect(!FileManager.default.fileExists(atPath: Self.marker(store)))

        // A batch that finds every object and tree there writes nothing unflushed: no marker, and
        // its entries are written all the same.
        let again = try store.blobs.ingest(bytes: Array("the same files again".utf8), what: "x")
        try store.withWriterLock {
            try store.withDeferredSync { batch in
                let (_, entry) = try Self.object(batch, "content")
                try batch.setPackageTree(blob: again, tree: try batch.writeTree(TreeManifest(entries: [entry])))
                #expect(!FileManager.default.fileExists(atPath: Self.marker(store)), "nothing new was written")
            }
        }
        #expect(try store.packageTree(blob: again) != nil)
        #expect(try store.fsck().isClean)
    }

    @Test(
        "a marker from another boot: torn objects, trees and records are removed and whole ones kept; from this boot only a flush"
    )
    func recovery() throws {
        let store = try makeStore()
        let (whole, wholeEntry) = try Self.object(store, "whole")
        let wholeTree = try store.writeTree(TreeManifest(entries: [wholeEntry]))
        let (torn, _) = try Self.object(store, "torn object")
        let tornTree = SHA256Digest.of(Array("a tree never finished".utf8))
        let tornRecord = SHA256Digest.of(Array("a record".utf8))
        func tear() throws {
            #expect(truncate(store.objectPath(torn), 3) == 0)
            try Data("{\"entries\":[".utf8).write(to: URL(fileURLWithPath: store.treePath(tornTree)))
            try Data("{\"name\":".utf8).write(to: URL(fileURLWithPath: store.packageRecordPath(tornRecord)))
        }
        func leaveMarker(boot: String) throws {
            try Data("{\"bootID\":\"\(boot)\",\"started\":\(time(nil) - 60)}".utf8)
                .write(to: URL(fileURLWithPath: Self.marker(store)))
        }
        try FileManager.default.createDirectory(atPath: "\(store.root)/control", withIntermediateDirectories: true)
        try tear()

        // This boot: the writer died, the kernel kept its writes; nothing is read again.
        let thisBoot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try leaveMarker(boot: thisBoot)
        #expect(try store.fsck().notes.contains { $0.hasPrefix("unsynced:") })
        try store.withWriterLock { try store.withDeferredSync { _ in } }
        #expect(!FileManager.default.fileExists(atPath: Self.marker(store)))
        #expect(store.containsObject(torn))

        // Another boot: everything changed since the marker is checked.
        try leaveMarker(boot: "a-boot-before-a-power-cut")
        try store.withWriterLock { try store.withDeferredSync { _ in } }
        #expect(!FileManager.default.fileExists(atPath: Self.marker(store)))
        #expect(!store.containsObject(torn))
        #expect(!FileManager.default.fileExists(atPath: store.treePath(tornTree)))
        #expect(!FileManager.default.fileExists(atPath: store.packageRecordPath(tornRecord)))
        #expect(store.containsObject(whole), "changed since the marker, but whole")
        #expect(try store.readTree(wholeTree).entries.count == 1)
        #expect(try store.fsck().isClean)
    }
}
