// What a sysadmin meets first with `strata build`, through the real executable and the loopback
// copy of debian/12 minbase: the default output name, what is said about the lockfile in use,
// SOURCE_DATE_EPOCH and package dates, `dpkg --verify` in the result, no new commit for an
// identical rebuild, SIGTERM/SIGINT mid-build, a cleared progress line on a terminal, and the
// checks made before anything is downloaded.
import Foundation
@testable import StrataBuild
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite(
    "strata build as a new user meets it", .serialized,
    .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct FirstHourBuildTests {
    /// `--mirror` options pointing every role at the loopback copy.
    static func mirrors() async throws -> [String] {
        let served = try await LocalMirror.shared.minbase()
        return served.localLock.repositories.flatMap { repository -> [String] in
            let role = repository.name == "security" ? "debian-security" : "debian"
            return ["--mirror", "\(role)=\(repository.url)"]
        }
    }

    /// A working directory holding the loopback lockfile under its default name.
    static func directoryWithLock() async throws -> String {
        let served = try await LocalMirror.shared.minbase()
        let dir = try TemporaryDirectory.make(prefix: "strata-firsthour")
        try Data(try served.localLock.encoded()).write(to: URL(fileURLWithPath: "\(dir)/debian-12-minbase-amd64.lock.json"))
        return dir
    }

    static func build(_ extra: [String], in dir: String, store: String, environment: [String: String] = [:]) async throws
        -> ShellResult
    {
        try await StrataExecutable.run(
            ["build", "debian/12", "--set", "minbase", "--templates", BuildFixture.templates, "--store", store]
                + (try await mirrors()) + extra,
            environment: environment, directory: dir, timeout: .seconds(600))
    }

    @Test("default name, the lockfile named with its age, SOURCE_DATE_EPOCH, package dates, dpkg --verify, one commit")
    func defaultBuild() async throws {
        let served = try await LocalMirror.shared.minbase()
        let dir = try await Self.directoryWithLock()
        let store = "\(dir)/store"
        let indexDate = try #require(served.localLock.newestIndexDate)
        let epoch = indexDate - 86_400
        let result = try await Self.build([], in: dir, store: store, environment: ["SOURCE_DATE_EPOCH": String(epoch)])
        #expect(result.exitCode == 0, "\(result.errorOutput.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/debian-12-minbase-amd64.tar.zst"), "one dot per suffix")
        #expect(result.errorOutput.contains("lock: using debian-12-minbase-amd64.lock.json (indexes of "))
        #expect(result.errorOutput.contains("the repositories have no newer packages for it"), "\(result.errorOutput)")

        let tar = "\(dir)/debian-12-minbase-amd64.tar.zst"
        let listing = try await Command.run(
            "/bin/sh",
            ["-c", "zstd -dc \(Sandbox.shellQuote(tar)) | python3 -c \"import tarfile,sys\nfor m in tarfile.open(fileobj=sys.stdin.buffer, mode='r|'): print(m.mtime, m.name)\""])
        let dates = listing.stdoutText.split(separator: "\n").compactMap { line -> (Int64, String)? in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let mtime = Int64(parts[0]) else { return nil }
            return (mtime, String(parts[1]))
        }
        #expect(dates.count > 8000)
        #expect(dates.allSatisfy { $0.0 <= epoch }, "every mtime clamped to SOURCE_DATE_EPOCH from the environment")
        let byName = Dictionary(dates.map { ($0.1, $0.0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["etc/passwd"] == epoch, "a file the scripts wrote is dated SOURCE_DATE_EPOCH")
        // /etc/skel/.bashrc as bash's package dates it (what a new user's home gets).
        let bash = try #require(served.lock.packages.first { $0.name == "bash" })
        let deb = try BlobStore(root: served.store).path(of: bash.sha256)
        let inDeb = try await Command.run(
            "/bin/sh", ["-c", "dpkg-deb --fsys-tarfile \(deb) | python3 -c \"import tarfile,sys; print(tarfile.open(fileobj=sys.stdin.buffer, mode='r|').getmember('./etc/skel/.bashrc').mtime)\""])
        let packaged = try #require(Int64(inDeb.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(packaged < epoch)
        #expect(byName["etc/skel/.bashrc"] == packaged, "dated as in bash's package, not 1970")

        let root = try TemporaryDirectory.make(prefix: "strata-extract")
        _ = try await Shell.run("tar", ["--zstd", "-xpf", tar, "-C", root])
        let verify = try await BuildFixture.inChroot(root, "dpkg --verify")
        #expect(verify.status == 0 && verify.stdoutText.isEmpty, "dpkg --verify: \(verify.stdoutText)")

        // The same build again: the same bytes, and the ref keeps its one commit.
        let commitsBefore = try FileManager.default.contentsOfDirectory(atPath: "\(store)/commits")
        let again = try await Self.build(["-o", "again.tar.zst"], in: dir, store: store, environment: ["SOURCE_DATE_EPOCH": String(epoch)])
        #expect(again.exitCode == 0)
        #expect(try SHA256Digest.of(file: "\(dir)/again.tar.zst") == SHA256Digest.of(file: tar))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(store)/commits") == commitsBefore)
    }

    @Test("SIGTERM and SIGINT mid-build: exit 143/130, 'interrupted', nothing mounted, no scratch, no partial output",
          arguments: [(SIGTERM, "configure:"), (SIGINT, "export+commit:"), (SIGTERM, "compose:"), (SIGINT, ", 16 imported")])
    func interrupted(signal: Int32, stage: String) async throws {
        let dir = try await Self.directoryWithLock()
        let store = "\(dir)/store"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: StrataExecutable.path)
        process.arguments = ["build", "debian/12", "--set", "minbase", "--templates", BuildFixture.templates, "--store", store,
            "-o", "out.tar.zst"] + (try await Self.mirrors())
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        // stderr to a file, polled: with a Pipe and a readabilityHandler here, a build running in
        // this test process at the same time was seen reading from a socket (a descriptor closed
        // twice and reused), so no handler is used.
        let log = "\(dir)/stderr.log"
        FileManager.default.createFile(atPath: log, contents: Data())
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        func seen() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(300)
        while !seen().contains(stage), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(seen().contains(stage), "the build reached \(stage): \(seen())")
        kill(process.processIdentifier, signal)
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(process.terminationStatus == 128 + signal)
        #expect(seen().hasSuffix("strata: interrupted\n"), "\(seen().suffix(500))")
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(store), "mounts left: \(mounts.split(separator: "\n").filter { $0.contains(store) })")
        let scratch = try FileManager.default.contentsOfDirectory(atPath: "\(store)/tmp").filter { $0.contains("build-") }
        #expect(scratch.isEmpty, "scratch left: \(scratch)")
        let outputs = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("out.tar") }
        #expect(outputs.isEmpty, "partial output left: \(outputs)")
        #expect(try Store(root: store).fsck().isClean)
    }

    @Test("a failing postinst: the package, the script and its own output; the whole log kept; --keep-failed keeps the tree until gc")
    func failingScript() async throws {
        let failing = DebPackageSpec(
            name: "strata-bad", version: "1.0-1", architecture: "all",
            maintainerScripts: [
                "postinst": """
                    #!/bin/sh
                    echo "about to fail: step one"
                    echo "about to fail: step two" >&2
                    exit 3
                    """
            ])
        try await BuildFixture.withArchive([failing], list: "@include minbase\nstrata-bad\n") { tree, server in
            let dir = try TemporaryDirectory.make(prefix: "strata-failing")
            let store = "\(dir)/store"
            func build(_ extra: [String]) async throws -> ShellResult {
                try await StrataExecutable.run(
                    ["build", "debian/12", "--set", "test", "--templates", tree, "--store", store, "-o", "\(dir)/x.tar"]
                        + (try await Self.mirrors()) + extra,
                    directory: dir, timeout: .seconds(600))
            }
            let plain = try await build([])
            #expect(plain.exitCode == 1)
            let message = plain.errorOutput
            #expect(message.contains("the postinst of strata-bad failed: installed strata-bad package post-installation script subprocess returned error exit status 3"), "\(message)")
            #expect(message.contains("| about to fail: step one") && message.contains("| about to fail: step two"), "\(message)")
            #expect(message.contains("(--keep-failed keeps the failed tree for inspection)"))
            let logLine = try #require(message.split(separator: "\n").first { $0.contains("the whole output: ") })
            let log = String(logLine.split(separator: " ").last ?? "")
            #expect(log.hasPrefix("\(store)/logs/"))
            let logText = try String(contentsOfFile: log, encoding: .utf8)
            #expect(logText.contains("Setting up strata-bad (1.0-1)") && logText.contains("Setting up base-files"), "the whole dpkg --configure output")
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(store)/tmp").filter { $0.contains("build-") }.isEmpty)

            let keeping = try await build(["--keep-failed"])
            #expect(keeping.exitCode == 1)
            let keptLine = try #require(keeping.errorOutput.split(separator: "\n").first { $0.hasPrefix("the failed tree is kept at ") }, "\(keeping.errorOutput)")
            let kept = String(keptLine.dropFirst("the failed tree is kept at ".count).prefix { $0 != " " })
            #expect(FileManager.default.fileExists(atPath: "\(kept)/var/lib/dpkg/status"), "the merged tree is there to inspect")
            #expect(FileManager.default.fileExists(atPath: "\(kept)/var/lib/strata-demo.state") == false)
            let fsck = try await StrataExecutable.run(["fsck", "--store", store])
            #expect(fsck.output.contains("kept by --keep-failed (strata gc unmounts and removes it)"), "\(fsck.output)")
            // The next build leaves it alone.
            _ = try await build([])
            #expect(FileManager.default.fileExists(atPath: "\(kept)/var/lib/dpkg/status"))
            let gc = try await StrataExecutable.run(["gc", "--store", store])
            #expect(gc.exitCode == 0, "\(gc.errorOutput)")
            #expect(!FileManager.default.fileExists(atPath: kept))
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mounts.contains(store))
        }
    }

    @Test("customize hooks: the template's files and the command line's run in order, on the host and inside; the commit names the command line's")
    func hooks() async throws {
        let tree = try TemporaryDirectory.make(prefix: "strata-hook-tree")
        _ = try await Shell.run("cp", ["-a", "\(BuildFixture.templates)/.", tree])
        let config = "\(tree)/debian/12/config"
        try #"printf 'template-host %s\n' "$(id -u)" >> "$1/etc/strata-hooks"; test "$PWD" = "$1""#
            .write(toFile: "\(config)/customize-host-10-stamp", atomically: true, encoding: .utf8)
        try "test -f /etc/debian_version\necho template-chroot >> /etc/strata-hooks\n"
            .write(toFile: "\(config)/customize-chroot-20-inside", atomically: true, encoding: .utf8)
        let dir = try await Self.directoryWithLock()
        let served = try await LocalMirror.shared.minbase()
        func build(_ extra: [String]) async throws -> ShellResult {
            try await StrataExecutable.run(
                ["build", "debian/12", "--set", "minbase", "--templates", tree, "--store", "\(dir)/store", "-o", "h.tar"]
                    + (try await Self.mirrors()) + extra,
                directory: dir, timeout: .seconds(600))
        }
        let first = try await build(["--customize-hook", #"echo cli-host >> "$1/etc/strata-hooks""#, "--chroot-hook", "echo cli-chroot >> /etc/strata-hooks"])
        #expect(first.exitCode == 0, "\(first.errorOutput.suffix(2000))")
        #expect(first.errorOutput.contains("out of date for the template"), "the template's hook files are part of it: \(first.errorOutput)")
        let listed = try await Command.run("/usr/bin/tar", ["-xOf", "\(dir)/h.tar", "etc/strata-hooks"])
        #expect(listed.stdoutText == "template-host 0\ntemplate-chroot\ncli-host\ncli-chroot\n", "\(listed.stdoutText)\(listed.stderr)")
        let lock = try Lockfile.read("\(dir)/debian-12-minbase-amd64.lock.json")
        #expect(lock.configDigest != served.localLock.configDigest)
        let show = try await StrataExecutable.run(["show", "debian/12/minbase/amd64", "--store", "\(dir)/store"])
        #expect(show.output.contains("meta     hooks: "), "\(show.output)")
        // The build wrote its SPDX SBOM beside the output (the default), and show --sbom prints those bytes.
        let sbom = try await StrataExecutable.run(["show", "debian/12/minbase/amd64", "--sbom", "spdx", "--store", "\(dir)/store"])
        #expect(sbom.exitCode == 0, "\(sbom.errorOutput)")
        #expect(sbom.stdout == (try Data(contentsOf: URL(fileURLWithPath: "\(dir)/h.spdx.json"))))
        let badSBOM = try await StrataExecutable.run(["show", "debian/12/minbase/amd64", "--sbom", "spdy", "--store", "\(dir)/store"])
        #expect(badSBOM.exitCode != 0 && badSBOM.errorOutput.contains("--sbom must be spdx or cyclonedx"), "\(badSBOM.errorOutput)")

        let failing = try await build(["--chroot-hook", "echo 'hook says no'\nexit 4"])
        #expect(failing.exitCode == 1)
        #expect(!failing.errorOutput.contains("out of date"), "another command-line hook leaves the lockfile alone")
        #expect(failing.errorOutput.contains("the customize hook --chroot-hook #1 failed (exit 4)"), "\(failing.errorOutput)")
        #expect(failing.errorOutput.contains("hook says no"))
        #expect(failing.errorOutput.contains("the whole output: "))
    }

    @Test("on a terminal, the last progress line is cleared before the summary and before an error")
    func clearedProgressLine() async throws {
        let dir = try await Self.directoryWithLock()
        let arguments = ["build", "debian/12", "--set", "minbase", "--templates", BuildFixture.templates, "--store",
            "\(dir)/store", "-o", "t.tar"] + (try await Self.mirrors())
        let command = ([StrataExecutable.path] + arguments).map(Sandbox.shellQuote).joined(separator: " ")
        // script(1) gives the build a pseudo-terminal and copies what it writes to stdout.
        let result = try await Shell.run("script", ["-qec", command, "/dev/null"], directory: dir, timeout: .seconds(600), check: false)
        #expect(result.exitCode == 0, "\(result.output.suffix(1000))")
        let text = result.output
        let summary = try #require(text.range(of: "built debian/12"))
        #expect(text[..<summary.lowerBound].hasSuffix("\r\u{1b}[K"), "\(text[..<summary.lowerBound].suffix(80).debugDescription)")
        // After the summary, each stage with its time, in the order they ran.
        let stages = try #require(text.range(of: #"stages: lock [0-9.]+ s, fetch\+import [0-9.]+ s, compose [0-9.]+ s, configure [0-9.]+ s, finalize [0-9.]+ s, export\+commit [0-9.]+ s"#, options: .regularExpression), "\(text.suffix(600))")
        #expect(stages.lowerBound > summary.lowerBound)
        // An error after a progress line: a mirror that refuses the connection.
        let port = try StrataExecutable.closedPort()
        let broken = ([StrataExecutable.path, "build", "debian/12", "--templates", BuildFixture.templates, "--store", "\(dir)/store",
            "--lock", "\(dir)/none.lock.json", "-o", "\(dir)/u.tar", "--mirror", "debian=http://127.0.0.1:\(port)/d",
            "--mirror", "debian-security=http://127.0.0.1:\(port)/s"]).map(Sandbox.shellQuote).joined(separator: " ")
        let error = try await Shell.run("script", ["-qec", broken, "/dev/null"], directory: dir, timeout: .seconds(120), check: false)
        #expect(error.exitCode != 0)
        let errorStart = try #require(error.output.range(of: "strata: error:"), "\(error.output)")
        #expect(error.output[..<errorStart.lowerBound].hasSuffix("\r\u{1b}[K"), "\(error.output.debugDescription)")
    }
}

@Suite("strata build checks what it can before it downloads anything")
struct BuildPreflightCommandTests {
    static let offline = ["--mirror", "debian=http://127.0.0.1:9/d", "--mirror", "debian-security=http://127.0.0.1:9/s"]

    static func build(_ extra: [String], environment: [String: String] = [:], directory: String? = nil) async throws
        -> ShellResult
    {
        let store = try TemporaryDirectory.make(prefix: "strata-preflight-store")
        return try await StrataExecutable.run(
            ["build", "debian/12", "--templates", BuildFixture.templates, "--store", store] + offline + extra,
            environment: environment, directory: directory)
    }

    @Test("a name and --format that disagree, a name without a format, a non-empty directory: refused at once")
    func outputs() async throws {
        let dir = try TemporaryDirectory.make(prefix: "strata-preflight")
        try FileManager.default.createDirectory(atPath: "\(dir)/full", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(dir)/full/x", contents: Data())
        for (arguments, words) in [
            (["-o", "x.tgz", "--format", "tar.xz"], "names tar.gz output but --format says tar.xz"),
            (["-o", "x.img"], "cannot tell the format from the name"),
            (["-o", "\(dir)/full/"], "is not empty (1 entry)"),
            (["-o", dir + "/full", "--format", "tar"], "names a directory output but --format says tar"),
        ] {
            let result = try await Self.build(arguments, directory: dir)
            #expect(result.exitCode == 1, "\(arguments)")
            #expect(result.errorOutput.contains(words), "\(arguments): \(result.errorOutput)")
            #expect(!result.errorOutput.contains("lock:"), "refused before resolving: \(result.errorOutput)")
        }
    }

    @Test("a typo in a --mirror role and an unknown scheme are errors naming the template's roles")
    func mirrorTypos() async throws {
        let typo = try await StrataExecutable.run(
            ["build", "debian/12", "--templates", BuildFixture.templates, "--mirror", "debain=http://127.0.0.1:9/d"])
        #expect(typo.exitCode == 1)
        #expect(typo.errorOutput.contains("no repository with mirror role 'debain' (did you mean 'debian'?)"), "\(typo.errorOutput)")
        let ftp = try await StrataExecutable.run(["build", "debian/12", "--templates", BuildFixture.templates, "--mirror", "ftp://127.0.0.1/d"])
        #expect(ftp.exitCode == 1)
        #expect(ftp.errorOutput.contains("not ftp://"), "\(ftp.errorOutput)")
    }

    @Test("SOURCE_DATE_EPOCH that is not a number is an error, not ignored")
    func badEpoch() async throws {
        let result = try await Self.build([], environment: ["SOURCE_DATE_EPOCH": "yesterday"])
        #expect(result.exitCode == 1)
        #expect(result.errorOutput.contains("SOURCE_DATE_EPOCH='yesterday' is not a number"), "\(result.errorOutput)")
    }

    @Test("a lockfile of another target given with --lock is refused and left as it is")
    func foreignLock() async throws {
        let dir = try TemporaryDirectory.make(prefix: "strata-foreign-lock")
        let spec = try TemplateTree(root: BuildFixture.templates).load(
            target: "debian/12", set: "minbase", architecture: Architecture("amd64"))
        let lock = Lockfile(
            lockfileVersion: 1, target: "debian/13", set: "standard", family: .deb, architecture: "amd64",
            configDigest: spec.configDigest, repositories: [], packages: [])
        let bytes = try lock.encoded()
        try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/other.lock.json"))
        let result = try await Self.build(["--lock", "\(dir)/other.lock.json", "-o", "\(dir)/x.tar"])
        #expect(result.exitCode == 1)
        #expect(result.errorOutput.contains("is the lockfile of debian/13 --set standard (amd64)"), "\(result.errorOutput)")
        #expect(try FileReader.readAll("\(dir)/other.lock.json") == bytes)
    }

    @Test("without root, the build says it needs root before it resolves anything",
          .enabled(if: geteuid() == 0 && FileManager.default.fileExists(atPath: "/usr/bin/setpriv"), "needs root to drop to nobody"))
    func needsRoot() async throws {
        let dir = try TemporaryDirectory.make(prefix: "strata-nonroot")
        chmod(dir, 0o777)
        let result = try await Shell.run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", StrataExecutable.path, "build", "debian/12", "--templates",
                BuildFixture.templates, "--store", "\(dir)/store", "-o", "\(dir)/x.tar"] + Self.offline,
            unsetting: ["STRATA_HOME"], directory: dir, check: false)
        #expect(result.exitCode == 1)
        #expect(result.errorOutput.contains("strata build needs root"), "\(result.errorOutput)")
    }

    @Test("a foreign architecture without a binfmt handler is refused before downloading",
          .enabled(if: !FileManager.default.fileExists(atPath: "/proc/sys/fs/binfmt_misc/qemu-aarch64"), "this host runs arm64 programs"))
    func foreignArchitecture() async throws {
        let result = try await Self.build(["--arch", "arm64", "-o", "x.tar"])
        #expect(result.exitCode == 1)
        #expect(result.errorOutput.contains("no binfmt_misc handler"), "\(result.errorOutput)")
    }
}
