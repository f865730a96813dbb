import Foundation
import StrataCore
import StrataStore
import Testing

@Suite("Tree manifests and commits")
struct TreeManifestTests {
    static let root = FileMetadata(mode: 0o755)

    func sampleTree(_ store: Store) throws -> TreeManifest {
        let su = try store.addObject(bytes: Array("su".utf8), metadata: FileMetadata(mode: 0o4755))
        let text = try store.addObject(bytes: Array("text".utf8), metadata: FileMetadata(mode: 0o644, uid: 0, gid: 4))
        return TreeManifest(entries: [
            .file("usr/bin/su", object: su, size: 2, metadata: FileMetadata(mode: 0o4755)),
            .directory("usr", metadata: Self.root),
            .symlink("bin", target: "usr/bin", metadata: FileMetadata(mode: 0o777)),
            .directory(".", metadata: Self.root),
            .file("usr/share/doc/a-b", object: text, size: 4, metadata: FileMetadata(mode: 0o644, uid: 0, gid: 4)),
            TreeEntry(
                path: "usr/bin/su-again", kind: .hardlink, metadata: FileMetadata(mode: 0o4755), target: "usr/bin/su"),
            TreeEntry(
                path: "dev/null", kind: .characterDevice, metadata: FileMetadata(mode: 0o666), major: 1, minor: 3),
            TreeEntry(
                path: "usr/bin", kind: .directory,
                metadata: FileMetadata(mode: 0o755, xattrs: ["user.note": Array("hi".utf8)])),
        ])
    }

    @Test("a tree is stored sorted, reads back equal, and its id does not depend on entry order")
    func treeRoundTrip() throws {
        let store = try makeStore()
        let tree = try sampleTree(store)
        let id = try store.writeTree(tree)
        let reversed = try store.writeTree(TreeManifest(entries: tree.entries.reversed()))
        #expect(id == reversed)
        let read = try store.readTree(id)
        #expect(read == tree.canonicalized())
        #expect(
            read.entries.map(\.path) == [
                ".", "bin", "dev/null", "usr", "usr/bin", "usr/bin/su", "usr/bin/su-again", "usr/share/doc/a-b",
            ])
        let bytes = try FileReader.readAll(store.treePath(id))
        #expect(SHA256Digest.of(bytes) == id)
        #expect(try tree.canonicalBytes() == bytes)
        #expect(try filesIn("\(store.root)/tmp").isEmpty)
    }

    @Test("the canonical encoding is exactly the documented JSON")
    func canonicalBytes() throws {
        let object = try ObjectID(hex: String(repeating: "ab", count: 32))
        let tree = TreeManifest(entries: [
            .file(
                "usr/bin/x", object: object, size: 7, metadata: FileMetadata(mode: 0o4755, xattrs: ["user.k": [255]])),
            .symlink("bin", target: "usr/bin", metadata: FileMetadata(mode: 0o777, uid: 0, gid: 0)),
        ])
        let expected =
            #"{"entries":[{"gid":0,"kind":"symlink","mode":"777","path":"bin","target":"usr/bin","uid":0},"#
            + #"{"gid":0,"kind":"file","mode":"4755","object":"\#(object.hex)","path":"usr/bin/x","size":7,"uid":0,"#
            + #""xattrs":{"user.k":"/w=="}}]}"#
        #expect(String(decoding: try tree.canonicalBytes(), as: UTF8.self) == expected)
    }

    @Test(
        "invalid trees are refused",
        arguments: [
            TreeEntry.directory("/etc", metadata: FileMetadata(mode: 0o755)),
            TreeEntry.directory("etc/../..", metadata: FileMetadata(mode: 0o755)),
            TreeEntry.directory("etc//x", metadata: FileMetadata(mode: 0o755)),
            TreeEntry(path: "etc/x", kind: .file, metadata: FileMetadata(mode: 0o644)),
            TreeEntry(path: "etc/l", kind: .hardlink, metadata: FileMetadata(mode: 0o644), target: "etc/missing"),
            TreeEntry(path: "dev/x", kind: .blockDevice, metadata: FileMetadata(mode: 0o644)),
        ])
    func refusesInvalid(_ entry: TreeEntry) throws {
        let store = try makeStore()
        let error = #expect(throws: StrataError.self) { try store.writeTree(TreeManifest(entries: [entry])) }
        #expect(error?.code == .invalidInput)
        #expect(try filesIn("\(store.root)/trees").isEmpty)
    }

    @Test("a tree naming an object the store lacks is refused")
    func refusesMissingObject() throws {
        let store = try makeStore()
        let object = ObjectID(contentDigest: SHA256Digest.of([1]), metadata: FileMetadata(mode: 0o644))
        let error = #expect(throws: StrataError.self) {
            try store.writeTree(
                TreeManifest(entries: [.file("x", object: object, size: 1, metadata: FileMetadata(mode: 0o644))]))
        }
        #expect(error?.code == .notFound)
    }

    @Test("a commit round-trips, its id is stable, and it needs its tree")
    func commitRoundTrip() throws {
        let store = try makeStore()
        let tree = try store.writeTree(try sampleTree(store))
        let commit = Commit(
            tree: tree, parents: [], lockDigest: SHA256Digest.of([9]),
            origin: ["target": "debian/12", "set": "minbase"], metadata: ["builder": "strata"], timestamp: 1_700_000_000
        )
        let id = try store.writeCommit(commit)
        #expect(try store.writeCommit(commit) == id)
        #expect(try store.readCommit(id) == commit)
        let bytes = try FileReader.readAll(store.commitPath(id))
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"lockDigest":"#))
        #expect(SHA256Digest.of(bytes) == id)
        var later = commit
        later.timestamp += 1
        #expect(try store.writeCommit(later) != id)
        let missing = Commit(tree: SHA256Digest.of([0]), timestamp: 0)
        #expect(throws: StrataError.self) { try store.writeCommit(missing) }
    }

    @Test("reading a damaged tree or commit fails verification")
    func damagedReads() throws {
        let store = try makeStore()
        let tree = try store.writeTree(try sampleTree(store))
        let commit = try store.writeCommit(Commit(tree: tree, timestamp: 0))
        try flipByte(store.treePath(tree), at: 10)
        try flipByte(store.commitPath(commit), at: 3)
        let treeError = #expect(throws: StrataError.self) { try store.readTree(tree) }
        #expect(treeError?.code == .verificationFailed)
        #expect(treeError?.message.contains("trees/\(tree.hex).json") == true)
        #expect((#expect(throws: StrataError.self) { try store.readCommit(commit) })?.code == .verificationFailed)
    }
}
