import Foundation
@testable import StrataBuild
import StrataCore
import StrataStore
import StrataTestSupport
import Testing

/// A build is many steps and can die at any of them; the store must stay consistent and the
/// next build must give the same bytes. Runs the real `strata` executable so SIGKILL is real.
@Suite(
    "Killed and concurrent builds", .serialized,
    .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct InterruptedBuildTests {
    static var executable: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/strata").path
    }

    /// The `strata build` command line for the loopback copy of debian/12 minbase.
    static func arguments(lock: String, store: String, output: String) async throws -> [String] {
        let served = try await LocalMirror.shared.minbase()
        let mirrors = served.localLock.repositories.flatMap { repository -> [String] in
            let role = repository.name == "security" ? "debian-security" : "debian"
            return ["--mirror", "\(role)=\(repository.url)"]
        }
        return ["build", "debian/12", "--set", "minbase", "--templates", BuildFixture.templates, "--lock", lock, "--locked",
            "--store", store, "-o", output, "-q"] + mirrors
    }

    /// Runs strata with `arguments` and kills it with SIGKILL after `delay` seconds; it must
    /// still be running then (else the delay tests nothing) and die of the signal.
    static func kill(after delay: Double, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        #expect(process.isRunning, "strata \(arguments.first ?? "") finished before the SIGKILL at \(delay) s")
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "not killed at \(delay) s")
        try await Task.sleep(for: .milliseconds(300))  // let orphaned script processes settle
    }

    static func lockFile() async throws -> String {
        let served = try await LocalMirror.shared.minbase()
        let path = try TemporaryDirectory.make(prefix: "strata-lock") + "/minbase.lock.json"
        try Data(try served.localLock.encoded()).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a build killed with SIGKILL at several points leaves fsck clean; the next build gives identical output")
    func killed() async throws {
        let lock = try await Self.lockFile()
        let dir = try TemporaryDirectory.make(prefix: "strata-kill")
        let reference = try await Shell.run(
            Self.executable, try await Self.arguments(lock: lock, store: "\(dir)/reference-store", output: "\(dir)/reference.tar"),
            timeout: .seconds(600))
        #expect(reference.exitCode == 0)
        let store = "\(dir)/store"
        for delay in [0.3, 1.5, 4.0, 8.0] {
            try await Self.kill(after: delay, try await Self.arguments(lock: lock, store: store, output: "\(dir)/killed.tar"))
            let report = try Store(root: store).fsck()
            #expect(report.isClean, "after SIGKILL at \(delay) s: \(report.problems.prefix(5))")
        }
        let final = try await Shell.run(
            Self.executable, try await Self.arguments(lock: lock, store: store, output: "\(dir)/final.tar"),
            timeout: .seconds(600))
        #expect(final.exitCode == 0)
        #expect(try SHA256Digest.of(file: "\(dir)/final.tar") == SHA256Digest.of(file: "\(dir)/reference.tar"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(store)/tmp").filter { $0.hasPrefix("build-") }
        #expect(leftovers.isEmpty, "abandoned scratch directories are cleaned by the next build: \(leftovers)")
    }

    @Test("two builds at once on one store both succeed with identical output")
    func concurrent() async throws {
        let lock = try await Self.lockFile()
        let dir = try TemporaryDirectory.make(prefix: "strata-concurrent")
        async let first = Shell.run(
            Self.executable, try await Self.arguments(lock: lock, store: "\(dir)/store", output: "\(dir)/a.tar"),
            timeout: .seconds(900))
        async let second = Shell.run(
            Self.executable, try await Self.arguments(lock: lock, store: "\(dir)/store", output: "\(dir)/b.tar"),
            timeout: .seconds(900))
        let (a, b) = try await (first, second)
        #expect(a.exitCode == 0 && b.exitCode == 0)
        #expect(try SHA256Digest.of(file: "\(dir)/a.tar") == SHA256Digest.of(file: "\(dir)/b.tar"))
        #expect(try Store(root: "\(dir)/store").fsck().isClean)
    }

    @Test("a layer killed with SIGKILL at several points leaves fsck clean and the base intact; the next layer gives identical output")
    func killedLayer() async throws {
        let served = try await LocalMirror.shared.minbase()
        try await BuildFixture.withArchive(list: "@include minbase\nstrata-hooks\n") { tree, _ in
            let dir = try TemporaryDirectory.make(prefix: "strata-kill-layer")
            let store = "\(dir)/store"
            let mirrors = served.localLock.repositories.flatMap { repository -> [String] in
                ["--mirror", "\(repository.name == "security" ? "debian-security" : "debian")=\(repository.url)"]
            }
            let common = ["--templates", tree, "--store", store, "-q"] + mirrors
            let base = try await Shell.run(
                Self.executable, ["build", "debian/12", "--set", "test", "--lock", "\(dir)/test.lock.json", "-o", "\(dir)/base.tar"] + common,
                timeout: .seconds(600))
            #expect(base.exitCode == 0, "\(base.errorOutput)")
            let baseCommit = try Store(root: store).ref("debian/12/test/amd64")
            // --as may not take a template set's ref (the layer would replace the set's commit).
            let taken = try await Shell.run(
                Self.executable, ["layer", "debian/12/test/amd64", "--add", "strata-plugin", "--as", "minbase"] + common,
                timeout: .seconds(120), check: false)
            #expect(taken.exitCode != 0 && taken.errorOutput.contains("--as minbase: debian/12 has a template set of that name"), "\(taken.errorOutput)")
            let layer = { (output: String) in
                ["layer", "debian/12/test/amd64", "--add", "strata-plugin,strata-demo", "--remove", "apt", "--as", "app",
                    "--rebuild", "-o", output] + common
            }
            let reference = try await Shell.run(Self.executable, layer("\(dir)/reference.tar"), timeout: .seconds(600))
            #expect(reference.exitCode == 0, "\(reference.errorOutput)")
            for delay in [0.2, 0.7, 1.2, 1.8, 2.6] {
                try await Self.kill(after: delay, layer("\(dir)/killed.tar"))
                let report = try Store(root: store).fsck()
                #expect(report.isClean, "after SIGKILL at \(delay) s: \(report.problems.prefix(5))")
                #expect(try Store(root: store).ref("debian/12/test/amd64") == baseCommit, "the base ref moved")
            }
            let final = try await Shell.run(Self.executable, layer("\(dir)/final.tar"), timeout: .seconds(600))
            #expect(final.exitCode == 0, "\(final.errorOutput)")
            #expect(try SHA256Digest.of(file: "\(dir)/final.tar") == SHA256Digest.of(file: "\(dir)/reference.tar"))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(store)/tmp").filter { $0.hasPrefix("build-") }
            #expect(leftovers.isEmpty, "abandoned scratch directories are cleaned by the next run: \(leftovers)")
        }
    }
}
