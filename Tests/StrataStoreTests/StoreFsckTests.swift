import Foundation
import StrataCore
import StrataStore
import Testing

@Suite("fsck")
struct StoreFsckTests {
    /// A store with a blob, two objects, a tree, a commit and a ref.
    func populated() throws -> (Store, blob: SHA256Digest, object: ObjectID, tree: SHA256Digest, commit: SHA256Digest) {
        let store = try makeStore()
        let blob = try store.blobs.ingest(bytes: Array(repeating: 7, count: 300), what: "pkg.deb")
        let metadata = FileMetadata(mode: 0o644)
        let object = try store.addObject(bytes: Array(repeating: 1, count: 100), metadata: metadata)
        let other = try store.addObject(bytes: Array("other".utf8), metadata: FileMetadata(mode: 0o755))
        let tree = try store.writeTree(
            TreeManifest(entries: [
                .file("a", object: object, size: 100, metadata: metadata),
                .file("b", object: other, size: 5, metadata: FileMetadata(mode: 0o755)),
            ]))
        try store.setPackageTree(blob: blob, tree: tree)
        let commit = try store.writeCommit(Commit(tree: tree, timestamp: 0))
        try store.setRef("debian/12/minbase/amd64", to: commit)
        return (store, blob, object, tree, commit)
    }

    @Test("a healthy store is clean and fsck counts what it checked")
    func clean() throws {
        let (store, _, _, _, _) = try populated()
        let report = try store.fsck()
        #expect(report.problems == [])
        #expect(report.notes == [])
        #expect(report.blobsChecked == 1)
        #expect(report.objectsChecked == 2)
        #expect(report.treesChecked == 1)
        #expect(report.commitsChecked == 1)
        #expect(report.refsChecked == 1)
    }

    @Test("a flipped byte in an object is reported with its path and both ids")
    func damagedObject() throws {
        let (store, _, object, _, _) = try populated()
        try flipByte(store.objectPath(object), at: 50)
        let report = try store.fsck()
        #expect(report.problems.count == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.contains("objects/\(object.hex.prefix(2))/\(object.hex.dropFirst(2))"))
        #expect(problem.contains("expected \(object.hex)"))
    }

    @Test("a chmod through a hardlink is reported as damage to the object", .enabled(if: isRoot))
    func changedMode() throws {
        let (store, _, object, _, _) = try populated()
        #expect(chmod(store.objectPath(object), 0o666) == 0)
        let problem = try #require(try store.fsck().problems.first)
        #expect(problem.contains("mode 666"))
    }

    @Test("a flipped byte in a tree is reported with its path")
    func damagedTree() throws {
        let (store, _, _, tree, _) = try populated()
        try flipByte(store.treePath(tree), at: 20)
        let report = try store.fsck()
        #expect(
            report.problems.first == "trees/\(tree.hex).json: content hashes to "
                + "\(try SHA256Digest.of(file: store.treePath(tree)).hex), expected \(tree.hex)")
        // Without root, the tree was all that vouched for its two objects' owner.
        #expect(report.problems.count == (isRoot ? 1 : 3))
    }

    @Test("a flipped byte in a blob is reported with the expected and actual digest")
    func damagedBlob() throws {
        let (store, blob, _, _, _) = try populated()
        try flipByte(store.blobs.path(of: blob), at: 0)
        let report = try store.fsck()
        let actual = try SHA256Digest.of(file: store.blobs.path(of: blob))
        #expect(report.problems == ["blobs/sha256/\(blob.hex): content hashes to \(actual.hex), expected \(blob.hex)"])
    }

    @Test("missing objects and commits are reported; leftover tmp/ files are only a note")
    func missingThings() throws {
        let (store, _, object, _, commit) = try populated()
        #expect(unlink(store.objectPath(object)) == 0)
        #expect(unlink(store.commitPath(commit)) == 0)
        let leftover = try store.makeTemporaryFile()
        _ = leftover  // kept open and unfinished, like a killed writer's
        let report = try store.fsck()
        #expect(report.problems.contains { $0.contains("entry 'a': object \(object.hex) is missing") })
        #expect(
            report.problems.contains { $0.contains("refs/debian/12/minbase/amd64: commit \(commit.hex) is missing") })
        #expect(report.problems.count == 2)
        #expect(report.notes.count == 1)
        #expect(report.notes.first?.hasPrefix("tmp/") == true)
        #expect(FileManager.default.fileExists(atPath: leftover.path))
    }
}
