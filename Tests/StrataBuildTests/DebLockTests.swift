import Foundation
import StrataBuild
import StrataCore
import StrataStore
import StrataTestSupport
import Testing

@Suite("Locking a Debian template against the signed fixture archive")
struct DebLockTests {
    static let requests: [[String]] = [
        ["app"],
        ["monitor"],
        ["mailer-app", "mail-user"],
        ["script-tool", "app", "monitor"],
        ["shell-mini", "coreutils-mini", "base-files"],
    ]

    @Test("the locked set equals what apt-get install --simulate resolves", arguments: requests)
    func sameSetAsApt(request: [String]) async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["req": request.joined(separator: "\n")])
            let (resolution, _) = try await FixtureTemplate.lock(tree: tree, set: "req")
            let ours = Dictionary(uniqueKeysWithValues: resolution.lockfile.packages.map { ($0.name, $0.version) })

            let apt = try AptOracle(sources: repo.sourcesLines(baseURL: server.baseURL))
            try await apt.update()
            let theirs = try await apt.resolve(request)
            #expect(ours == theirs)
        }
    }

    @Test("selectors ?essential and ?priority(required) match mmdebstrap's narrowed apt patterns")
    func selectorsMatchApt() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath,
                sets: ["essential": "?essential\n", "minbase": "@include essential\n?priority(required)\n"])
            let (resolution, _) = try await FixtureTemplate.lock(tree: tree, set: "minbase")
            let ours = Dictionary(uniqueKeysWithValues: resolution.lockfile.packages.map { ($0.name, $0.version) })

            let apt = try AptOracle(sources: repo.sourcesLines(baseURL: server.baseURL))
            try await apt.update()
            let narrow = "?narrow(?or(?archive(^stable$),?codename(^strata$)),?architecture(amd64),"
            let theirs = try await apt.resolve([], patterns: ["\(narrow)?or(?essential,?priority(required)))"])
            #expect(ours == theirs)
            #expect(ours["libc-mini"] == "2.36-9+deb12u1", "the newer version from stable-updates")
        }
    }

    @Test("the lockfile pins each package's sha256, size and path, and is byte-identical across runs")
    func lockfileContent() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\n"])
            let (first, _) = try await FixtureTemplate.lock(tree: tree, set: "s")
            let (second, _) = try await FixtureTemplate.lock(tree: tree, set: "s")
            #expect(try first.lockfile.encoded() == second.lockfile.encoded())
            for package in first.lockfile.packages {
                let built = try #require(repo.package(package.name, version: package.version))
                #expect(package.sha256 == built.sha256)
                #expect(package.size == UInt64(built.size))
                #expect(FileManager.default.fileExists(atPath: "\(repo.root)/\(package.path)"))
            }
            #expect(first.lockfile.repositories.map(\.name) == ["main", "updates"])
            #expect(first.lockfile.repositories.allSatisfy { $0.date != nil && !$0.indexes.isEmpty })
        }
    }

    @Test("a second lock with an unchanged InRelease downloads no index again")
    func secondRunFetchesOnlyInRelease() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\n"])
            let store = try TemporaryDirectory.make(prefix: "strata-store")
            _ = try await FixtureTemplate.lock(tree: tree, set: "s", store: store)
            server.resetRequests()
            _ = try await FixtureTemplate.lock(tree: tree, set: "s", store: store)
            let paths = server.requests.map(\.path).sorted()
            #expect(paths == ["/dists/stable-updates/InRelease", "/dists/stable/InRelease"])
        }
    }

    @Test("dummy packages satisfy dependencies, real or versioned-virtual, and are listed apart in the lockfile")
    func dummies() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "mail-user\nmailer-app\n"])
            try FileManager.default.createDirectory(atPath: "\(tree)/fixture/config", withIntermediateDirectories: true)
            try """
                dummies:
                  - name: mail-transport-agent
                    version: "99"
                  - name: fake-mta
                    version: "1.0"
                    provides: ["smtp-api (= 3.0)"]
                """.write(toFile: "\(tree)/fixture/config/template.yaml", atomically: true, encoding: .utf8)
            let (resolution, _) = try await FixtureTemplate.lock(tree: tree, set: "s")
            let names = Set(resolution.lockfile.packages.map(\.name))
            #expect(names == ["mail-user", "mailer-app"], "no MTA package: the dummies stand in")
            #expect(resolution.lockfile.dummies?.map(\.name) == ["fake-mta", "mail-transport-agent"])
        }
    }

    @Test("an unsatisfiable request prints libsolv's problems and solutions")
    func unsatisfiable() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            // logger-a Breaks every libc-mini there is, and the set asks for both.
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["bad": "logger-a\nlibc-mini\n"])
            let error = await #expect(throws: StrataError.self) { try await FixtureTemplate.lock(tree: tree, set: "bad") }
            #expect(error?.code == .unsatisfiable)
            #expect(error?.message.contains("logger-a") == true)
            #expect(error?.message.contains("solution 1:") == true)
        }
    }

    @Test("an unknown package name is a clear error naming the repositories")
    func unknownName() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "no-such-pkg\n"])
            let error = await #expect(throws: StrataError.self) { try await FixtureTemplate.lock(tree: tree, set: "s") }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("no-such-pkg") == true)
        }
    }

    @Test("--why prints the dependency chain that brings a package in")
    func why() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "script-tool\n"])
            let (resolution, _) = try await FixtureTemplate.lock(tree: tree, set: "s", why: "libc-mini")
            let chain = try #require(resolution.why)
            #expect(chain.count == 3)
            #expect(chain.first?.hasPrefix("script-tool") == true)
            #expect(chain[1].contains("perl-mini"))
            #expect(chain.last?.hasSuffix("libc-mini 2.36-9+deb12u1") == true)
        }
    }
}
