// The RPM packager's own steps on the demo package: import into a store (and refusal of a hostile
// payload with the store left consistent), and owners named in the header applied from the
// tree's own passwd and group (a name the tree lacks stays root's, with a warning naming the
// package and the file; capabilities and the mode survive the chown).
import Foundation
import StrataCore
import StrataPackaging
import StrataStore
import StrataTestSupport
import Testing

@testable import StrataRPM

#if canImport(Glibc)
    import Glibc
#endif

@Suite("The RPM packager's import and owners", .timeLimit(.minutes(2)))
struct RpmPackagerTests {
    static func entry(_ blob: SHA256Digest) -> Lockfile.Package {
        Lockfile.Package(
            name: "demo", version: "1.2-3", architecture: "noarch", repository: "t", path: "demo.rpm", sha256: blob,
            size: 0)
    }

    static func importDemo(_ path: String, into store: Store) throws -> ImportedPackage<RpmControlRecord> {
        let blob = try store.blobs.ingest(file: path)
        return try store.withWriterLock {
            try RpmPackager().importPackage(Self.entry(blob), blob: blob, importer: PackageImporter(store: store)).0
        }
    }

    @Test("a hostile payload is refused naming the package and path; nothing of it is reachable and fsck is clean")
    func hostileImport() async throws {
        let store = try Store(root: TemporaryDirectory.make(prefix: "strata-rpm-store"))
        let crafted = try await CraftedRpm.rewrite(try await DemoPackages.main, ["rename:./usr/bin/ping2:../ping2"])
        let blob = try store.blobs.ingest(file: crafted)
        let error = refusal {
            _ = try store.withWriterLock {
                try RpmPackager().importPackage(Self.entry(blob), blob: blob, importer: PackageImporter(store: store))
            }
        }
        #expect(error?.message.contains("demo 1.2-3") == true, "\(String(describing: error))")
        #expect(error?.message.contains("'../ping2'") == true)
        #expect(try store.packageTree(blob: blob) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.packageRecordPath(blob)))
        #expect(try store.fsck().isClean)
        // The honest package imports into the same store afterwards.
        let package = try Self.importDemo(try await DemoPackages.main, into: store)
        #expect(package.entries.contains { $0.path == "usr/bin/ping2" })
    }

    @Test("owners come from the tree's passwd and group after %pre; an unknown name stays root's with a warning")
    func owners() async throws {
        let store = try Store(root: TemporaryDirectory.make(prefix: "strata-rpm-store"))
        let package = try Self.importDemo(try await DemoPackages.main, into: store)
        let ping = try #require(package.entries.first { $0.path == "usr/bin/ping2" })
        #expect(ping.owner?.user == "nobody" && ping.owner?.group == "nogroup")

        func compose(passwd: String, group: String) throws -> String {
            let root = try TemporaryDirectory.make(prefix: "strata-rpm-root")
            var composer = try Composer(root: root)
            composer.copyFiles = true  // the chown below must not reach the store's objects
            defer { composer.close() }
            for entry in package.entries { try composer.place(entry) }
            try FileManager.default.createDirectory(atPath: "\(root)/etc", withIntermediateDirectories: true)
            try passwd.write(toFile: "\(root)/etc/passwd", atomically: true, encoding: .utf8)
            try group.write(toFile: "\(root)/etc/group", atomically: true, encoding: .utf8)
            return root
        }

        let known = try compose(passwd: "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/sbin/nologin\n", group: "root:x:0:\nnogroup:x:65534:\n")
        try RpmOwners.apply([package], root: known, layout: .mergedUsr)
        var st = stat()
        lstat("\(known)/usr/bin/ping2", &st)
        #expect(st.st_uid == 65534 && st.st_gid == 65534)
        #expect(st.st_mode & 0o7777 == 0o750)

        let lines = LockedBox([String]())
        let unknown = try compose(passwd: "root:x:0:0::/root:/bin/sh\n", group: "root:x:0:\n")
        try Diagnostics.$collector.withValue(Diagnostics.Collector { line in lines.update { $0.append(line) } }) {
            try RpmOwners.apply([package], root: unknown, layout: .mergedUsr)
        }
        lstat("\(unknown)/usr/bin/ping2", &st)
        #expect(st.st_uid == 0 && st.st_gid == 0)
        #expect(lines.get().contains { $0.contains("demo: /usr/bin/ping2: user 'nobody' does not exist in the tree") })
        #expect(lines.get().contains { $0.contains("group 'nogroup' does not exist") })
    }

    @Test("a new owner keeps the file's capabilities and setuid bit, which chown(2) alone drops")
    func ownershipKeepsCapabilities() async throws {
        let file = try TemporaryDirectory.make(prefix: "strata-owner") + "/ping"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o4755)
        try await Shell.run("setcap", ["cap_net_raw=ep", file])
        let fd = open(file, O_RDONLY)
        defer { close(fd) }
        try Ownership.change(fd: fd, uid: 65534, gid: 65534, mode: 0o4755, path: file)
        var st = stat()
        lstat(file, &st)
        #expect(st.st_uid == 65534 && st.st_mode & 0o7777 == 0o4755)
        #expect(try await Shell.run("getcap", [file]).output.contains("cap_net_raw=ep"))
    }

    @Test("a symlink used as a directory later in the payload leads no file out of the tree")
    func symlinkAsDirectory() async throws {
        // rpmbuild packs /usr/x -> OUTSIDE and /usr/x/victim, a file it reads through the link.
        let outside = try TemporaryDirectory.make(prefix: "strata-outside")
        try "host\n".write(toFile: "\(outside)/victim", atomically: true, encoding: .utf8)
        var before = stat()
        lstat("\(outside)/victim", &before)
        let spec = """
            Name: linkdir
            Version: 1
            Release: 1
            Summary: a symlink and a file beneath it
            License: MIT
            BuildArch: noarch
            %description
            x
            %install
            mkdir -p %{buildroot}/usr
            ln -s \(outside) %{buildroot}/usr/x
            %files
            /usr/x
            /usr/x/victim
            """
        let rpm = try #require(try await SpecBuild.build(spec)["linkdir-1-1.noarch"])
        let store = try Store(root: TemporaryDirectory.make(prefix: "strata-rpm-store"))
        let package = try Self.importDemo(rpm, into: store)
        #expect(package.entries.map(\.path) == ["usr/x", "usr/x/victim"])
        let root = try TemporaryDirectory.make(prefix: "strata-rpm-root")
        var composer = try Composer(root: root)
        defer { composer.close() }
        for entry in package.entries { try composer.place(entry) }
        // The link's target is taken inside the tree: the file lands at ROOT/OUTSIDE/victim.
        var after = stat()
        lstat("\(outside)/victim", &after)
        #expect(after.st_ino == before.st_ino && after.st_nlink == 1)
        #expect(try String(contentsOfFile: "\(outside)/victim", encoding: .utf8) == "host\n")
        #expect(try String(contentsOfFile: "\(root)\(outside)/victim", encoding: .utf8) == "host\n")
        #expect(try store.fsck().isClean)
    }
}

@Suite("Mirror roles from a host's yum.repos.d")
struct HostYumReposTests {
    @Test("each repository id with a baseurl is a role: the first URL, no trailing slash; no baseurl, no role")
    func roles() throws {
        let root = try TemporaryDirectory.make(prefix: "strata-yum")
        try FileManager.default.createDirectory(atPath: "\(root)/etc/yum.repos.d", withIntermediateDirectories: true)
        try """
            [rocky]
            name=Rocky
            baseurl = http://127.0.0.1:9/rocky/ http://127.0.0.1:9/other/
            [metalink-only]
            metalink=http://127.0.0.1:9/metalink
            """.write(toFile: "\(root)/etc/yum.repos.d/a.repo", atomically: true, encoding: .utf8)
        try "[ignored]\nbaseurl=http://127.0.0.1:9/x\n".write(
            toFile: "\(root)/etc/yum.repos.d/b.repo.disabled", atomically: true, encoding: .utf8)
        #expect(HostYumRepos.mirrorRoles(root: root) == ["rocky": "http://127.0.0.1:9/rocky"])
    }
}
