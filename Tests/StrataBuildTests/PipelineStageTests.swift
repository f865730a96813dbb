// Each stage of the pipeline on its own: a value in, a value out, with small inputs made here
// (a .deb from dpkg-deb, files in a temporary directory); no mirror, no maintainer scripts.
import Foundation
import StrataCore
import StrataDeb
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@testable import StrataBuild

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Pipeline stages, one at a time")
struct PipelineStageTests {
    /// A .deb with a file, a hardlink to it, a symlink and a file under /bin (folded into usr/bin).
    static func deb(in work: String) async throws -> String {
        let stage = "\(work)/pkg"
        for dir in ["DEBIAN", "bin", "usr/share/doc/stage", "etc"] {
            try FileManager.default.createDirectory(atPath: "\(stage)/\(dir)", withIntermediateDirectories: true)
        }
        try "Package: stage\nVersion: 1\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: t\n"
            .write(toFile: "\(stage)/DEBIAN/control", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho stage\n".write(toFile: "\(stage)/bin/stage", atomically: true, encoding: .utf8)
        chmod("\(stage)/bin/stage", 0o755)
        try "docs\n".write(toFile: "\(stage)/usr/share/doc/stage/README", atomically: true, encoding: .utf8)
        link("\(stage)/usr/share/doc/stage/README", "\(stage)/usr/share/doc/stage/README.link")
        try "k=v\n".write(toFile: "\(stage)/etc/stage.conf", atomically: true, encoding: .utf8)
        symlink("stage.conf", "\(stage)/etc/stage.link")
        try await Shell.run("dpkg-deb", ["--root-owner-group", "--build", stage, "\(work)/stage.deb"])
        return "\(work)/stage.deb"
    }

    static func lockEntry(_ blob: SHA256Digest) -> Lockfile.Package {
        Lockfile.Package(
            name: "stage", version: "1", architecture: "all", repository: "t", path: "stage.deb", sha256: blob, size: 0)
    }

    static func lock(_ packages: [Lockfile.Package]) -> Lockfile {
        Lockfile(
            lockfileVersion: Lockfile.currentVersion, target: "fixture/1", set: "base", family: .deb,
            architecture: "amd64", configDigest: SHA256Digest.of(Array("c".utf8)), repositories: [], packages: packages)
    }

    @Test("import: a package is read once; the second import finds it in the store, with the same entries")
    func importStage() async throws {
        let work = try TemporaryDirectory.make(prefix: "strata-stage")
        let store = try Store(root: "\(work)/store")
        let blob = try store.blobs.ingest(file: try await Self.deb(in: work))
        let stage = ImportStage(packager: DebPackager(), store: store)
        let first = try stage.run(Self.lock([Self.lockEntry(blob)]), blobs: [blob])
        let second = try stage.run(Self.lock([Self.lockEntry(blob)]), blobs: [blob])
        #expect(first.imported == 1)
        #expect(second.imported == 0)
        #expect(first.packages.map(\.name) == ["stage"])
        #expect(first.packages[0].entries.map(\.path) == second.packages[0].entries.map(\.path))
        #expect(first.packages[0].entries.contains { $0.path == "bin/stage" })
        #expect(first.packages[0].record.control["control"] != nil)
        #expect(first.packages[0].declaredHardlinks(.mergedUsr).contains("usr/share/doc/stage/README.link"))
    }

    @Test("compose: merged /usr, hardlinks to store objects, excludes (a link to an excluded file becomes the file)")
    func composeStage() async throws {
        let work = try TemporaryDirectory.make(prefix: "strata-stage")
        let store = try Store(root: "\(work)/store")
        let blob = try store.blobs.ingest(file: try await Self.deb(in: work))
        let packages = try ImportStage(packager: DebPackager(), store: store).run(
            Self.lock([Self.lockEntry(blob)]), blobs: [blob]
        ).packages
        let root = "\(work)/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let output = try ComposeStage(layout: .mergedUsr, excludes: ["/usr/share/doc/stage/README"]).run(packages, root: root)
        #expect(output.excluded == 1)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/bin") == "usr/bin")
        #expect(FileManager.default.fileExists(atPath: "\(root)/usr/bin/stage"))
        #expect(!FileManager.default.fileExists(atPath: "\(root)/usr/share/doc/stage/README"))
        #expect(try String(contentsOfFile: "\(root)/usr/share/doc/stage/README.link", encoding: .utf8) == "docs\n")
        // A composed file is its store object, not a copy.
        var composed = stat()
        var object = stat()
        lstat("\(root)/usr/bin/stage", &composed)
        let objectPath = try #require(output.tree.objects["usr/bin/stage"])
        lstat(objectPath, &object)
        #expect(composed.st_ino == object.st_ino)
        #expect(output.tree.objects["usr/share/doc/stage/README"] != nil)
    }

    @Test("finalize: cleanup globs never follow a symlink out of the tree, and machine-id is emptied")
    func finalizeStage() throws {
        let work = try TemporaryDirectory.make(prefix: "strata-stage")
        let root = "\(work)/root"
        let outside = "\(work)/outside"
        for dir in ["\(root)/etc", "\(root)/var", outside] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try "keep\n".write(toFile: "\(outside)/host.log", atomically: true, encoding: .utf8)
        symlink(outside, "\(root)/var/log")
        try "abc\n".write(toFile: "\(root)/etc/machine-id", atomically: true, encoding: .utf8)
        try "x\n".write(toFile: "\(root)/etc/passwd-", atomically: true, encoding: .utf8)
        let removed = try Finalizer.cleanup(root: root, globs: ["/var/log/*.log", "/etc/passwd-"])
        try Finalizer.resetMachineID(root: root)
        #expect(removed == ["etc/passwd-"])
        #expect(FileManager.default.fileExists(atPath: "\(outside)/host.log"))
        #expect(try FileReader.readAll("\(root)/etc/machine-id").isEmpty)
    }

    @Test("writes into a tree stay in it: a symlinked sources.list.d or machine-id leads nothing to the host")
    func rootedWrites() throws {
        let work = try TemporaryDirectory.make(prefix: "strata-stage")
        let root = "\(work)/root"
        let outside = "\(work)/outside"
        for dir in ["\(root)/etc/apt", outside] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try "host id\n".write(toFile: "\(outside)/machine-id", atomically: true, encoding: .utf8)
        symlink(outside, "\(root)/etc/apt/sources.list.d")
        symlink("\(outside)/machine-id", "\(root)/etc/machine-id")
        let repository = Lockfile.Repository(
            name: "main", url: "http://127.0.0.1:9/debian", suite: "stable",
            release: .init(path: "dists/stable/InRelease", sha256: SHA256Digest.of([1]), size: nil), date: nil,
            indexes: [])
        _ = try AptSources.write(
            root: root, repositories: [repository],
            specs: [RepositorySpec(name: "main", url: "http://127.0.0.1:9/debian", suite: "stable", trusted: true)])
        try Finalizer.resetMachineID(root: root)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["machine-id"])
        #expect(try String(contentsOfFile: "\(outside)/machine-id", encoding: .utf8) == "host id\n")
        // The link's target is taken inside the tree.
        #expect(try String(contentsOfFile: "\(root)\(outside)/strata.sources", encoding: .utf8).contains("Trusted: yes"))
        // Reading or removing what is not there creates nothing on the way.
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        #expect(try tree.read("no/such/dir/file") == nil)
        #expect(try tree.remove("no/such/dir/file") == false)
        #expect(!FileManager.default.fileExists(atPath: "\(root)/no"))
    }

    @Test("export then commit: the tar is the same bytes twice, and an identical commit is the one the ref names")
    func exportAndCommitStages() async throws {
        let work = try TemporaryDirectory.make(prefix: "strata-stage")
        let store = try Store(root: "\(work)/store")
        let root = "\(work)/root"
        try FileManager.default.createDirectory(atPath: "\(root)/etc", withIntermediateDirectories: true)
        try "hello\n".write(toFile: "\(root)/etc/motd", atomically: true, encoding: .utf8)
        link("\(root)/etc/motd", "\(root)/etc/motd.same")
        let hardlinks: Set<String> = ["etc/motd", "etc/motd.same"]
        let a = try Exporter.export(root: root, to: "\(work)/a.tar", format: .tar(.none), clampMtime: 1000, hardlinks: hardlinks)
        _ = try Exporter.export(root: root, to: "\(work)/b.tar", format: .tar(.none), clampMtime: 1000, hardlinks: hardlinks)
        #expect(a.files >= 2)
        #expect(try SHA256Digest.of(file: "\(work)/a.tar") == SHA256Digest.of(file: "\(work)/b.tar"))
        let listing = try await Shell.run("tar", ["-tvf", "\(work)/a.tar"]).output
        #expect(listing.contains("link to etc/motd"))

        let tree = try TemporaryDirectory.make(prefix: "strata-stage-tree")
        try FileManager.default.createDirectory(atPath: "\(tree)/fixture/1/config", withIntermediateDirectories: true)
        try "family: deb\ndistro: fixture\nversion: \"1\"\nrepositories: []\n"
            .write(toFile: "\(tree)/fixture/1/config/template.yaml", atomically: true, encoding: .utf8)
        try "stage\n".write(toFile: "\(tree)/fixture/1/config/base.list", atomically: true, encoding: .utf8)
        let spec = try TemplateTree(root: tree).load(target: "fixture/1", set: "base", architecture: Architecture("amd64"))
        let committer = Committer(store: store)
        let lock = Self.lock([])
        let first = try committer.commit(
            root: root, hardlinks: hardlinks, clampMtime: 1000, lock: lock, spec: spec)
        let again = try committer.commit(
            root: root, hardlinks: hardlinks, clampMtime: 1000, lock: lock, spec: spec)
        #expect(first == again)
        #expect(try store.ref("fixture/1/base/amd64") == first)
        try "changed\n".write(toFile: "\(root)/etc/motd", atomically: true, encoding: .utf8)
        let changed = try committer.commit(
            root: root, hardlinks: hardlinks, clampMtime: 1000, lock: lock, spec: spec)
        #expect(changed != first)
        #expect(try store.readCommit(changed).parents == [first])
    }

    @Test("customize: a host hook runs in the tree with $1 and SOURCE_DATE_EPOCH; a failing one names itself")
    func customizeStage() throws {
        let root = try TemporaryDirectory.make(prefix: "strata-stage-root")
        var lines = [String]()
        try Customizer.run(
            [CustomizeHook(place: .host, name: "customize-host", script: "echo \"$SOURCE_DATE_EPOCH\" > \"$1/epoch\"; pwd > here")],
            root: root, sourceDateEpoch: 42
        ) { lines.append($0) }
        #expect(try String(contentsOfFile: "\(root)/epoch", encoding: .utf8) == "42\n")
        #expect(try String(contentsOfFile: "\(root)/here", encoding: .utf8).hasSuffix("\n"))
        #expect(lines == ["customize: customize-host (on the host)"])
        let error = #expect(throws: StrataError.self) {
            try Customizer.run([CustomizeHook(place: .host, name: "bad-hook", script: "echo nope; exit 3")], root: root, sourceDateEpoch: 0) { _ in }
        }
        #expect(error?.message.contains("bad-hook failed (exit 3)") == true)
        #expect(error?.message.contains("nope") == true)
    }

    @Test("the executable's registry: one packager per family, and a family without one is a clear error")
    func registry() throws {
        let debOnly = Packagers([DebPackager()])
        #expect(try debOnly.packager(for: .deb).family == .deb)
        let error = #expect(throws: StrataError.self) { try debOnly.packager(for: .rpm) }
        #expect(error?.message.contains("no packager for rpm") == true)
    }
}
