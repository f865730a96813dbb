// Issue 8, item 16: `strata lock --check` exits as diff(1) does (0 same, 1 changed, 2 could not
// check), and a strata that finds no template tree says where it looked and how to name one.
// The real `strata` against the signed fixture archive on 127.0.0.1.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@Suite("strata lock --check and finding the template tree")
struct LockCheckTests {
    @Test("lock --check exits 0 when up to date, 1 when the set changed, 2 when it cannot check")
    func exitStatuses() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\n"])
            let dir = try TemporaryDirectory.make(prefix: "strata-check")
            let lock = "\(dir)/s.lock.json"
            let base = ["lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "\(dir)/store", "-o", lock]

            let missing = try await StrataExecutable.run(base + ["--check"])
            #expect(missing.exitCode == 2, "no lockfile: \(missing.errorOutput)")
            #expect(missing.errorOutput.contains("\(lock): no lockfile to check"), "\(missing.errorOutput)")

            let written = try await StrataExecutable.run(base)
            #expect(written.exitCode == 0, "\(written.errorOutput)")
            let same = try await StrataExecutable.run(base + ["--check"])
            #expect(same.exitCode == 0, "\(same.output) \(same.errorOutput)")
            #expect(same.output.contains("up to date"))

            try "app\nmonitor\n".write(toFile: "\(tree)/fixture/1/config/s.list", atomically: true, encoding: .utf8)
            let changed = try await StrataExecutable.run(base + ["--check"])
            #expect(changed.exitCode == 1, "\(changed.output) \(changed.errorOutput)")
            #expect(changed.output.contains("+ monitor"), "\(changed.output)")

            let port = try StrataExecutable.closedPort()
            let unreachable = try await StrataExecutable.run(base + ["--check", "--proxy", "http://127.0.0.1:\(port)"])
            #expect(unreachable.exitCode == 2, "network: \(unreachable.errorOutput)")

            let badKey = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: "/nonexistent/keyring.gpg", sets: ["s": "app\n"])
            let unverified = try await StrataExecutable.run(
                [
                    "lock", "fixture/1", "--set", "s", "--templates", badKey, "--store", "\(dir)/store", "-o", lock,
                    "--check",
                ])
            #expect(unverified.exitCode == 2, "bad signature: \(unverified.errorOutput)")

            // An application template has no lockfile: lock, --check and resolve say so first.
            try "@base s\nmonitor\n".write(toFile: "\(tree)/fixture/1/config/web.list", atomically: true, encoding: .utf8)
            for arguments in [["lock", "--check"], ["lock"], ["resolve"]] {
                let refused = try await StrataExecutable.run(
                    [arguments[0], "fixture/1", "--set", "web", "--templates", tree, "--store", "\(dir)/store"]
                        + arguments.dropFirst())
                #expect(refused.exitCode != 0, "\(arguments): \(refused.output)")
                #expect(
                    refused.errorOutput.contains("web.list:1: set web is an application template (@base s)"),
                    "\(arguments): \(refused.errorOutput)")
            }
        }
        let help = try await StrataExecutable.run(["lock", "--help"])
        #expect(help.output.contains("exits as diff(1) does: 0"), "\(help.output)")
    }

    @Test(
        "a strata that finds no template tree says where it looked and names --templates and $STRATA_TEMPLATES",
        .enabled(if: !FileManager.default.fileExists(atPath: "/usr/share/strata/templates"), "a tree is installed"))
    func noTemplateTree() async throws {
        let release = try TemporaryDirectory.make(prefix: "strata-release")
        try FileManager.default.createDirectory(atPath: "\(release)/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: StrataExecutable.path, toPath: "\(release)/bin/strata")
        let cwd = try TemporaryDirectory.make(prefix: "strata-cwd")
        let result = try await StrataExecutable.run(
            ["lock", "debian/12", "--store", "\(cwd)/store"], directory: cwd, executable: "\(release)/bin/strata")
        #expect(result.exitCode == 1)
        let message = result.errorOutput
        #expect(
            message.hasPrefix("strata: error: no template tree found; looked in \(release)/bin/templates, "),
            "\(message)")
        for place in ["\(release)/share/strata/templates", "\(cwd)/templates", "/usr/share/strata/templates"] {
            #expect(message.contains(place), "\(place) in \(message)")
        }
        #expect(message.contains("--templates DIR or $STRATA_TEMPLATES"), "\(message)")

        let named = try await StrataExecutable.run(
            ["lock", "debian/12", "--templates", "\(cwd)/nothing"], directory: cwd, executable: "\(release)/bin/strata")
        #expect(named.errorOutput == "strata: error: --templates \(cwd)/nothing: no such directory\n")
    }
}
