import Foundation
import StrataCore
import StrataTestSupport
import Testing

@Suite("apt-get as resolution oracle", .timeLimit(.minutes(3)))
struct AptOracleTests {
    @Test("apt-get update verifies the served archive with the fixture key, by-hash, then 304 on the second run")
    func updateVerifiesAndUsesByHash() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root, lifetime: .seconds(120)) { server in
            let oracle = try AptOracle(sources: repo.sourcesLines(baseURL: server.baseURL))
            try await oracle.update()
            #expect(server.requests.first { $0.path == "/dists/stable/InRelease" }?.status == 200)
            #expect(server.requests.first?.headers["user-agent"]?.hasPrefix("Debian APT-HTTP") == true)
            // Acquire-By-Hash: yes makes apt fetch indexes by their SHA256.
            let byHash = server.requests.filter { $0.path.contains("/by-hash/SHA256/") }
            #expect(!byHash.isEmpty)
            #expect(byHash.allSatisfy { $0.status == 200 })
            let lists = try FileManager.default.contentsOfDirectory(atPath: oracle.listsDirectory)
            #expect(lists.contains { $0.hasSuffix("_dists_stable_InRelease") })

            server.resetRequests()
            try await oracle.update()
            #expect(server.requests.first { $0.path == "/dists/stable/InRelease" }?.status == 304)
        }
    }

    @Test("apt resolves a request: the -updates version wins, the first alternative is taken, Breaks is avoided")
    func resolvesLikeApt() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root, lifetime: .seconds(120)) { server in
            let oracle = try AptOracle(sources: repo.sourcesLines(baseURL: server.baseURL))
            try await oracle.update()
            let set = try await oracle.resolve(["app", "monitor", "script-tool", "mailer-app"])
            #expect(set["libc-mini"] == "2.36-9+deb12u1")  // newer, from stable-updates
            #expect(set["editor-vim"] == "2:9.0.1378-2")  // first alternative of editor-vim | editor-nano
            #expect(set["editor-nano"] == nil)
            #expect(set["logger-b"] == "1.0-1")  // logger-a Breaks libc-mini (<< 2.37)
            #expect(set["logger-a"] == nil)
            #expect(set["perl-mini"] == "5.36.0-7")  // perl-mini:any
            #expect(set["mta-postfix"] == "3.7.11-0+deb12u1")  // the only smtp-api (>= 3.0)
            #expect(set["mta-exim"] == nil)
            #expect(set["tzdata-mini"] == nil)  // Recommends are off
            #expect(
                Set(set.keys) == [
                    "app", "editor-vim", "libc-mini", "monitor", "logger-b", "script-tool",
                    "perl-mini", "mailer-app", "mta-postfix",
                ])
        }
    }

    @Test("a real package beats virtual providers; ?essential selects the Essential packages; unsatisfiable throws")
    func virtualsPatternsAndFailures() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root, lifetime: .seconds(120)) { server in
            let oracle = try AptOracle(sources: repo.sourcesLines(baseURL: server.baseURL))
            try await oracle.update()
            let mail = try await oracle.resolve(["mail-user"])
            #expect(mail == ["mail-user": "1.0-1", "mail-transport-agent": "1.0"])

            let essential = try await oracle.resolve([], patterns: ["?essential"])
            #expect(
                essential == [
                    "base-files": "13.1", "shell-mini": "5.2.15-2", "coreutils-mini": "9.1-1",
                    "libc-mini": "2.36-9+deb12u1",
                ])
            let pinned = try await oracle.resolve(["libc-mini=2.36-9"])
            #expect(pinned == ["libc-mini": "2.36-9"])

            // mta-postfix, pulled in for smtp-api (>= 3.0), also provides mail-transport-agent, so
            // apt does not add the real package for mail-user's dependency.
            let both = try await oracle.resolve(["mailer-app", "mail-user"])
            #expect(both == ["mailer-app": "2.1-1", "mail-user": "1.0-1", "mta-postfix": "3.7.11-0+deb12u1"])
            let error = await #expect(throws: StrataError.self) {
                try await oracle.resolve(["mta-postfix", "mail-transport-agent"])  // Conflicts: mail-transport-agent
            }
            #expect(error?.code == .unsatisfiable)
            let missing = await #expect(throws: StrataError.self) { try await oracle.resolve(["no-such-package"]) }
            #expect(missing?.code == .unsatisfiable)
        }
    }

    @Test("apt-get update refuses the archive when signed-by names the unrelated key")
    func unknownKeyFails() async throws {
        let repo = try await DebFixtureRepo.standard()
        let unrelated = try await TestGPGKey.unrelated()
        try await LoopbackHTTPServer.withServer(serving: repo.root, lifetime: .seconds(120)) { server in
            let oracle = try AptOracle(
                sources: repo.sourcesLines(baseURL: server.baseURL, keyring: unrelated.keyringPath))
            let error = await #expect(throws: StrataError.self) { try await oracle.update() }
            #expect(error?.code == .verificationFailed)
        }
    }

    @Test("apt-get update fails on a tampered InRelease served by the fault injector")
    func tamperedInReleaseFails() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root, lifetime: .seconds(120)) { server in
            var text = try String(contentsOfFile: "\(repo.root)/dists/stable/InRelease", encoding: .utf8)
            text = text.replacingOccurrences(of: "Origin: Strata Test", with: "Origin: Strata Evil")
            server.setFault(.replaceBody(with: Array(text.utf8)), for: "/dists/stable/InRelease")
            server.setFault(.status(404), for: "/dists/stable/Release")
            let oracle = try AptOracle(sources: [repo.sourcesLine(baseURL: server.baseURL, suite: "stable")])
            let error = await #expect(throws: StrataError.self) { try await oracle.update() }
            #expect(error?.code == .verificationFailed)
        }
    }

    @Test("the oracle's apt never reads or writes the host's /etc/apt or /var/lib/apt")
    func isolatedFromHost() async throws {
        let repo = try await DebFixtureRepo.standard()
        let hostLists = "/var/lib/apt/lists"
        let before = try? FileManager.default.contentsOfDirectory(atPath: hostLists).sorted()
        let beforeDate = try? FileManager.default.attributesOfItem(atPath: hostLists)[.modificationDate] as? Date
        try await LoopbackHTTPServer.withServer(serving: repo.root, lifetime: .seconds(120)) { server in
            let oracle = try AptOracle(sources: repo.sourcesLines(baseURL: server.baseURL))
            let config = try await oracle.effectiveConfiguration()
            for name in [
                "Dir::State::status", "Dir::State::Lists", "Dir::Cache", "Dir::Cache::archives", "Dir::Etc",
                "Dir::Etc::main", "Dir::Etc::parts", "Dir::Etc::sourcelist", "Dir::Etc::sourceparts",
                "Dir::Etc::trusted", "Dir::Etc::trustedparts", "Dir::Etc::preferences", "Dir::Etc::preferencesparts",
                "Dir::Log",
            ] {
                let value = config[name.lowercased()]
                #expect(value?.hasPrefix(oracle.root) == true, "\(name) = \(value ?? "unset")")
            }
            #expect(config["debug::nolocking"] == "1")
            #expect(config["apt::install-recommends"] == "false")
            #expect(config["apt::architecture"] == "amd64")
            try await oracle.update()
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: hostLists).sorted()) == before)
        #expect(
            (try? FileManager.default.attributesOfItem(atPath: hostLists)[.modificationDate] as? Date) == beforeDate)
    }

    @Test("Inst lines parse to name → version, dropping :arch")
    func parsesInstLines() {
        let output = """
            NOTE: This is only a simulation!
            Inst libc-mini (2.36-9+deb12u1 Strata Test:stable-updates [amd64])
            Inst perl-mini:amd64 (5.36.0-7 Strata Test:stable [amd64])
            Inst tzdata [2023c-5] (2024a-0+deb12u1 Debian:12.5/stable [all])
            Conf libc-mini (2.36-9+deb12u1 Strata Test:stable-updates [amd64])
            """
        #expect(
            AptOracle.parseInstLines(output) == [
                "libc-mini": "2.36-9+deb12u1", "perl-mini": "5.36.0-7", "tzdata": "2024a-0+deb12u1",
            ])
    }
}
