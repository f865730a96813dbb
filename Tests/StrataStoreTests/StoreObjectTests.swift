import Foundation
import StrataCore
import StrataStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("File objects")
struct StoreObjectTests {
    @Test("an object id covers the metadata and keeps its documented value")
    func idsCoverMetadata() throws {
        let content = SHA256Digest.of(Array("hello\n".utf8))
        let base = FileMetadata(mode: 0o4755, uid: 0, gid: 0, xattrs: ["user.a": Array("xyz".utf8)])
        // Computed from the format at the top of ObjectID.swift with Python's hashlib.
        #expect(
            ObjectID(contentDigest: content, metadata: base).hex
                == "51936a652ef845e074a928aabde9a3b41ca5c6ba479eddb5a3bdbe9fa77e9b3d")
        var variants = [base]
        variants.append(FileMetadata(mode: 0o755, uid: 0, gid: 0, xattrs: base.xattrs))
        variants.append(FileMetadata(mode: 0o4755, uid: 1, gid: 0, xattrs: base.xattrs))
        variants.append(FileMetadata(mode: 0o4755, uid: 0, gid: 1, xattrs: base.xattrs))
        variants.append(FileMetadata(mode: 0o4755, uid: 0, gid: 0))
        variants.append(FileMetadata(mode: 0o4755, uid: 0, gid: 0, xattrs: ["user.a": Array("xy".utf8)]))
        var dated = base
        dated.mtime = 1_700_000_000
        // The same bytes of the documented format with "mtime=1700000000\n" after the gid line.
        #expect(
            ObjectID(contentDigest: content, metadata: dated).hex
                == "45d9e5084002bb0d25c1f744f86f4ccf08e69bfc5495921f2479d73cdc322184")
        variants.append(dated)
        let ids = Set(variants.map { ObjectID(contentDigest: content, metadata: $0) })
        #expect(ids.count == variants.count)
        let otherContent = SHA256Digest.of(Array("hello!\n".utf8))
        #expect(!ids.contains(ObjectID(contentDigest: otherContent, metadata: base)))
    }

    @Test("an object file carries its mtime, which fsck checks")
    func dated() throws {
        let store = try makeStore()
        let id = try store.addObject(bytes: Array("dated\n".utf8), metadata: FileMetadata(mode: 0o644, mtime: 1_600_000_000))
        var st = stat()
        #expect(lstat(store.objectPath(id), &st) == 0)
        #expect(st.st_mtim.tv_sec == 1_600_000_000)
        #expect(try store.diskMetadata(ofObject: id).mtime == 1_600_000_000)
        try store.setRef("t/1/s/amd64", to: try store.writeCommit(Commit(
            tree: try store.writeTree(TreeManifest(entries: [
                .directory(".", metadata: FileMetadata(mode: 0o755)),
                .file("f", object: id, size: 6, metadata: FileMetadata(mode: 0o644, mtime: 1_600_000_000)),
            ])), timestamp: 1)))
        #expect(try store.fsck().isClean)
        var times = [timespec(tv_sec: 5, tv_nsec: 0), timespec(tv_sec: 5, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, store.objectPath(id), &times, 0) == 0)
        #expect(!(try store.fsck().isClean), "a changed date is a changed object")
    }

    @Test("adding the same object twice gives one file and leaves tmp/ empty")
    func addTwice() throws {
        let store = try makeStore()
        let metadata = FileMetadata(mode: 0o644)
        let first = try store.addObject(bytes: Array("content\n".utf8), metadata: metadata)
        let second = try store.addObject(bytes: Array("content\n".utf8), metadata: metadata)
        #expect(first == second)
        #expect(try FileReader.readAll(store.objectPath(first)) == Array("content\n".utf8))
        #expect(store.objectPath(first).hasSuffix("objects/\(first.hex.prefix(2))/\(first.hex.dropFirst(2))"))
        #expect(try filesIn("\(store.root)/tmp").isEmpty)
        let st = try stat(of: store.objectPath(first))
        #expect(st.st_mtim.tv_sec == 0)
        #expect(st.st_nlink == 1)
    }

    @Test("a size that differs from the file is refused and nothing is stored")
    func refusesWrongSize() throws {
        let store = try makeStore()
        let file = try store.makeTemporaryFile()
        try Array("four".utf8).withUnsafeBytes { try file.write($0) }
        let error = #expect(throws: StrataError.self) {
            try store.addObject(
                file, contentDigest: SHA256Digest.of(Array("four".utf8)), size: 5, metadata: FileMetadata(mode: 0o644))
        }
        #expect(error?.code == .verificationFailed)
        #expect(try filesIn("\(store.root)/tmp").isEmpty)
        #expect(try filesIn("\(store.root)/objects").isEmpty)
    }

    @Test("metadata with file-type bits or security.selinux is refused")
    func refusesBadMetadata() throws {
        let store = try makeStore()
        #expect(throws: StrataError.self) {
            try store.addObject(bytes: [1], metadata: FileMetadata(mode: 0o100644))
        }
        #expect(throws: StrataError.self) {
            try store.addObject(bytes: [1], metadata: FileMetadata(mode: 0o644, xattrs: ["security.selinux": [0]]))
        }
        #expect(try filesIn("\(store.root)/tmp").isEmpty)
    }

    @Test("as root, an object file carries its setuid mode, owner and xattrs", .enabled(if: isRoot))
    func appliesMetadata() throws {
        let store = try makeStore()
        let metadata = FileMetadata(mode: 0o4750, uid: 1234, gid: 5678, xattrs: ["user.test": [0, 1, 2, 255]])
        let id = try store.addObject(bytes: Array("#!/bin/sh\n".utf8), metadata: metadata)
        let st = try stat(of: store.objectPath(id))
        #expect(st.st_mode & 0o7777 == 0o4750)
        #expect(st.st_uid == 1234)
        #expect(st.st_gid == 5678)
        #expect(try store.diskMetadata(ofObject: id) == metadata)
        #expect(try store.fsck().isClean)
    }

    @Test("as root, a file capability survives (chown before setxattr)", .enabled(if: isRoot))
    func appliesCapability() throws {
        let store = try makeStore()
        // struct vfs_cap_data, revision 2, effective, permitted = CAP_NET_RAW (13).
        let capability: [UInt8] = [1, 0, 0, 2, 0, 0x20, 0, 0] + [UInt8](repeating: 0, count: 12)
        let metadata = FileMetadata(mode: 0o755, uid: 0, gid: 0, xattrs: ["security.capability": capability])
        let id: ObjectID
        do {
            id = try store.addObject(bytes: Array("ping\n".utf8), metadata: metadata)
        } catch let error as StrataError where error.message.contains("xattr") {
            // Some file systems and user namespaces refuse security.* xattrs; the rest is tested above.
            withKnownIssue("the file system refused security.capability: \(error.message)") { throw error }
            return
        }
        #expect(try store.diskMetadata(ofObject: id) == metadata)
        #expect(try store.fsck().isClean)
    }
}

@Suite("File objects without root")
struct StoreRootlessTests {
    @Test(
        "without root, owner and privileged xattrs live in the manifest and fsck checks against it",
        .enabled(if: !isRoot))
    func rootless() throws {
        let store = try makeStore()
        let capability: [UInt8] = [1, 0, 0, 2, 0, 0x20, 0, 0] + [UInt8](repeating: 0, count: 12)
        let metadata = FileMetadata(mode: 0o755, uid: 0, gid: 0, xattrs: ["security.capability": capability])
        let id = try store.addObject(bytes: Array("ping\n".utf8), metadata: metadata)
        #expect(id == ObjectID(contentDigest: SHA256Digest.of(Array("ping\n".utf8)), metadata: metadata))
        let st = try stat(of: store.objectPath(id))
        #expect(st.st_uid == geteuid())
        #expect(st.st_mode & 0o7777 == 0o755)
        let tree = try store.writeTree(
            TreeManifest(entries: [.file("bin/ping", object: id, size: 5, metadata: metadata)]))
        #expect(try store.fsck().isClean)
        // A tree that names the object with another mode does not vouch for it.
        #expect(chmod(store.objectPath(id), 0o700) == 0)
        let problems = try store.fsck().problems
        #expect(problems.count == 1)
        #expect(problems.first?.contains("mode 700") == true)
        #expect(problems.first?.contains("vouches") == true)
        #expect(try store.readTree(tree).entries.first?.metadata == metadata)
    }
}

@Suite("Where a store's directories go")
struct StoreDirectoryPlacementTests {
    /// `stat -f` names ext2, ext3 and ext4 alike `ext2/ext3`.
    static var onExt4: Bool {
        let type = try? Command.runBlocking("/usr/bin/stat", ["-f", "-c", "%T", NSTemporaryDirectory()]).stdoutText
        return type?.hasPrefix("ext2/ext3") == true
    }

    @Test(
        "tmp/ and objects/ carry ext4's top-directory flag (their new subdirectories spread over block groups)",
        .enabled(if: onExt4, "the temporary directory is not on ext4"))
    func topDirectories() throws {
        let store = try makeStore()
        for dir in ["tmp", "objects"] {
            let listed = try Command.runBlocking("/usr/bin/lsattr", ["-d", "\(store.root)/\(dir)"]).stdoutText
            let flags = listed.split(separator: " ").first.map(String.init) ?? ""
            #expect(flags.contains("T"), "\(dir): \(listed)")
        }
        let listed = try Command.runBlocking("/usr/bin/lsattr", ["-d", "\(store.root)/trees"]).stdoutText
        #expect(!(listed.split(separator: " ").first.map(String.init) ?? "").contains("T"), "only those two")
    }
}
