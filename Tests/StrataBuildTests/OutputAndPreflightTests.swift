// What `strata build` decides and checks before it downloads anything: the output's name and
// format, the environment's SOURCE_DATE_EPOCH, a foreign architecture, the --mirror roles, the
// lockfile's target. No root, mirror or network needed.
import Foundation
@testable import StrataBuild
import StrataCore
import StrataPackaging
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("Output names, formats and up-front checks")
struct OutputAndPreflightTests {
    @Test(
        "a name's suffix says its format",
        arguments: [
            ("a.tar", "tar"), ("a.tar.gz", "tar.gz"), ("a.tgz", "tar.gz"), ("a.tar.zst", "tar.zst"),
            ("a.tzst", "tar.zst"), ("a.tar.xz", "tar.xz"), ("a.txz", "tar.xz"), ("rootfs/", "a directory"),
            ("dir.tgz/", "a directory"), ("img.oci", "an OCI image layout"), ("img.oci.tar", "an OCI image archive"),
        ])
    func suffixes(name: String, format: String) throws {
        let target = try OutputTarget.resolve(output: name, format: nil, defaultBase: "x")
        #expect(target.format.description == format)
        #expect(target.path == name)
    }

    @Test("the default name carries one dot per suffix")
    func defaultNames() throws {
        #expect(try OutputTarget.resolve(output: nil, format: nil, defaultBase: "debian-12-minbase-amd64").path
            == "debian-12-minbase-amd64.tar.zst")
        #expect(OutputTarget.defaultPath(base: "b", format: .tar(.gzip)) == "b.tar.gz")
        #expect(OutputTarget.defaultPath(base: "b", format: .tar(.xz)) == "b.tar.xz")
        #expect(OutputTarget.defaultPath(base: "b", format: .tar(.none)) == "b.tar")
        #expect(OutputTarget.defaultPath(base: "b", format: .directory) == "b")
    }

    @Test("a name and a --format that disagree are refused; a name without a suffix needs --format")
    func mismatches() throws {
        for (name, format) in [("x.tgz", "tar.xz"), ("a.tar.gz", "tar.zst"), ("rootfs/", "tar"), ("x.tar", "dir")] {
            let error = #expect(throws: StrataError.self) { try OutputTarget.resolve(output: name, format: format, defaultBase: "x") }
            #expect(error?.message.contains("--format says") == true, "\(name) \(format)")
        }
        #expect(try OutputTarget.resolve(output: "x.tgz", format: "tgz", defaultBase: "x").format == .tar(.gzip))
        #expect(try OutputTarget.resolve(output: "image", format: "tar.xz", defaultBase: "x").format == .tar(.xz))
        let unnamed = #expect(throws: StrataError.self) { try OutputTarget.resolve(output: "image.img", format: nil, defaultBase: "x") }
        #expect(unnamed?.message.contains("cannot tell the format") == true)
        #expect(throws: StrataError.self) { try OutputTarget.resolve(output: nil, format: "zip", defaultBase: "x") }
    }

    @Test("an output must be writable: a non-empty directory is refused, an empty one or a new path is fine")
    func writable() throws {
        let dir = try TemporaryDirectory.make(prefix: "strata-output")
        try FileManager.default.createDirectory(atPath: "\(dir)/empty", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir)/full", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(dir)/full/file", contents: Data())
        FileManager.default.createFile(atPath: "\(dir)/plain", contents: Data())
        try OutputTarget(path: "\(dir)/empty/", format: .directory).checkWritable()
        try OutputTarget(path: "\(dir)/new/", format: .directory).checkWritable()
        try OutputTarget(path: "\(dir)/deeper/still/x.tar", format: .tar(.none)).checkWritable()
        let full = #expect(throws: StrataError.self) { try OutputTarget(path: "\(dir)/full/", format: .directory).checkWritable() }
        #expect(full?.message.contains("not empty (1 entry)") == true)
        #expect(throws: StrataError.self) { try OutputTarget(path: "\(dir)/plain/", format: .directory).checkWritable() }
        let isDirectory = #expect(throws: StrataError.self) { try OutputTarget(path: "\(dir)/empty", format: .tar(.zstd)).checkWritable() }
        #expect(isDirectory?.message.contains("is a directory") == true)
        #expect(throws: StrataError.self) { try OutputTarget(path: "\(dir)/plain/x.tar", format: .tar(.none)).checkWritable() }
    }

    @Test("SOURCE_DATE_EPOCH is a decimal count of seconds, or an error")
    func sourceDateEpoch() throws {
        #expect(try SourceDateEpoch.fromEnvironment([:]) == nil)
        #expect(try SourceDateEpoch.fromEnvironment(["SOURCE_DATE_EPOCH": ""]) == nil)
        #expect(try SourceDateEpoch.fromEnvironment(["SOURCE_DATE_EPOCH": "1700000000"]) == 1_700_000_000)
        for bad in ["abc", "-5", "1.5", "١٢٣", " 12"] {
            #expect(throws: StrataError.self, "\(bad)") { try SourceDateEpoch.fromEnvironment(["SOURCE_DATE_EPOCH": bad]) }
        }
    }

    @Test("a foreign architecture needs an enabled binfmt_misc handler; the host's own and its companions do not")
    func foreignArchitecture() throws {
        let binfmt = try TemporaryDirectory.make(prefix: "strata-binfmt")
        let amd64 = Architecture("amd64")
        try Preflight.requireRunnable(Architecture("amd64"), host: amd64, binfmt: binfmt)
        try Preflight.requireRunnable(Architecture("i386"), host: amd64, binfmt: binfmt)
        let missing = #expect(throws: StrataError.self) {
            try Preflight.requireRunnable(Architecture("arm64"), host: amd64, binfmt: binfmt)
        }
        #expect(missing?.message.contains("qemu-user-static") == true)
        try "disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n".write(
            toFile: "\(binfmt)/qemu-aarch64", atomically: true, encoding: .utf8)
        #expect(throws: StrataError.self) { try Preflight.requireRunnable(Architecture("arm64"), host: amd64, binfmt: binfmt) }
        try "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n".write(
            toFile: "\(binfmt)/qemu-aarch64", atomically: true, encoding: .utf8)
        try Preflight.requireRunnable(Architecture("arm64"), host: amd64, binfmt: binfmt)
    }

    @Test("--mirror names roles the template uses, over http, https or file")
    func mirrorRoles() throws {
        let spec = try TemplateTree(root: BuildFixture.templates).load(
            target: "debian/12", set: "minbase", architecture: Architecture("amd64"))
        let typo = try MirrorMap.host(packagers: .testing, overrides: ["debain=http://127.0.0.1:9/debian"])
        let error = #expect(throws: StrataError.self) { try typo.check(spec) }
        #expect(error?.message.contains("did you mean 'debian'") == true)
        #expect(error?.message.contains("debian, debian-security") == true)
        try MirrorMap.host(packagers: .testing, overrides: ["debian-security=http://127.0.0.1:9/s", "http://127.0.0.1:9/d"]).check(spec)
        let ftp = #expect(throws: StrataError.self) { try MirrorMap.host(packagers: .testing, overrides: ["ftp://127.0.0.1/debian"]) }
        #expect(ftp?.message.contains("not ftp://") == true)
    }

    @Test("cleanup empties a directory a package owns and removes only what no package ships")
    func cleanupKeepsOwned() throws {
        let root = try TemporaryDirectory.make(prefix: "strata-cleanup")
        for dir in ["var/lib/apt/lists/partial", "var/log/apt"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        for file in ["var/lib/apt/lists/x_Packages", "var/lib/apt/lists/partial/y", "var/log/apt/term.log", "var/log/apt/shipped"] {
            FileManager.default.createFile(atPath: "\(root)/\(file)", contents: Data("x".utf8))
        }
        let owned: Set<String> = ["var", "var/lib", "var/lib/apt", "var/lib/apt/lists", "var/lib/apt/lists/partial",
            "var/log", "var/log/apt", "var/log/apt/shipped"]
        let removed = try Finalizer.cleanup(root: root, globs: ["/var/lib/apt/lists/*", "/var/log/apt"], owned: owned)
        #expect(removed == ["var/lib/apt/lists/partial/y", "var/lib/apt/lists/x_Packages", "var/log/apt/term.log"])
        #expect(FileManager.default.fileExists(atPath: "\(root)/var/lib/apt/lists/partial"))
        #expect(FileManager.default.fileExists(atPath: "\(root)/var/log/apt/shipped"))
    }

    @Test("a lockfile of another target, set or architecture is refused, naming what it is for")
    func foreignLockfile() throws {
        let spec = try TemplateTree(root: BuildFixture.templates).load(
            target: "debian/12", set: "minbase", architecture: Architecture("amd64"))
        var lock = Lockfile(
            lockfileVersion: 1, target: "debian/13", set: "standard", family: .deb, architecture: "arm64",
            configDigest: spec.configDigest, repositories: [], packages: [])
        let error = #expect(throws: StrataError.self) { try lock.requireFor(spec, path: "x.lock.json") }
        #expect(error?.message.contains("x.lock.json is the lockfile of debian/13 --set standard (arm64)") == true)
        lock.target = "debian/12"
        lock.set = "minbase"
        lock.architecture = "amd64"
        try lock.requireFor(spec, path: "x.lock.json")
    }
}

@Suite("Directory outputs")
struct DirectoryOutputTests {
    @Test("a directory output goes into a new path or an empty directory, dated as the tar would be")
    func directoryOutput() throws {
        let tree = try TemporaryDirectory.make(prefix: "strata-dir-tree")
        try FileManager.default.createDirectory(atPath: "\(tree)/etc/skel", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(tree)/etc/skel/.bashrc", contents: Data("x".utf8))
        FileManager.default.createFile(atPath: "\(tree)/etc/passwd", contents: Data("root\n".utf8))
        var old = [timespec(tv_sec: 1_000, tv_nsec: 0), timespec(tv_sec: 1_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, "\(tree)/etc/skel/.bashrc", &old, 0) == 0)
        let out = try TemporaryDirectory.make(prefix: "strata-dir-out")
        for target in ["\(out)/new/", "\(out)/empty"] {
            if target.hasSuffix("empty") { try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true) }
            _ = try Exporter.export(root: tree, to: target, format: .directory, clampMtime: 5_000, hardlinks: [])
            let base = target.hasSuffix("/") ? String(target.dropLast()) : target
            let bashrc = try FileManager.default.attributesOfItem(atPath: "\(base)/etc/skel/.bashrc")
            let passwd = try FileManager.default.attributesOfItem(atPath: "\(base)/etc/passwd")
            #expect((bashrc[.modificationDate] as? Date)?.timeIntervalSince1970 == 1_000, "an older date is kept")
            #expect((passwd[.modificationDate] as? Date)?.timeIntervalSince1970 == 5_000, "clamped")
            #expect(!FileManager.default.fileExists(atPath: "\(base)/\((tree as NSString).lastPathComponent)"), "contents, not the tree itself")
        }
    }
}
