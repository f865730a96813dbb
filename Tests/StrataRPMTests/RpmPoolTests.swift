import Foundation
import StrataCore
import StrataRPM
import StrataSolver
import StrataStore
import StrataTestSupport
import Testing

/// Fetches the standard fixture once into a private store.
private func fetchedStandard() async throws -> (RpmFixtureRepo, RpmTestEnvironment, RpmRepositoryIndexes) {
    let repo = try await RpmFixtureRepo.standard()
    let env = try RpmTestEnvironment()
    let indexes = try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
        try await env.client.fetchIndexes(repo.source(server))
    }
    return (repo, env, indexes)
}

private func rpmPool() throws -> SolvPool { try SolvPool(family: .rpm, architecture: Architecture("amd64")) }

/// `name-version-release.arch` of each solvable, sorted.
private func nevras(_ pool: SolvPool, _ ids: [SolvableID]) -> [String] {
    ids.map { "\(pool.name(of: $0))-\(pool.version(of: $0)).\(pool.arch(of: $0))" }.sorted()
}

@Suite("rpm-md indexes in a libsolv pool", .timeLimit(.minutes(3)))
struct RpmPoolTests {
    @Test("every fixture rpm is in the pool with its real location, sha256 and file size")
    func locationChecksumSize() async throws {
        let (repo, env, indexes) = try await fetchedStandard()
        let pool = try rpmPool()
        try pool.addRPM(indexes, store: env.store)
        #expect(pool.allSolvables.count == RpmFixtureRepo.standardPackages.count)
        for built in repo.packages {
            let spec = built.spec
            let matches = pool.solvables(named: spec.name).filter {
                pool.version(of: $0) == "\(spec.version)-\(spec.release)"
            }
            let id = try #require(matches.first, "\(spec.fileName) is not in the pool")
            #expect(matches.count == 1)
            #expect(pool.arch(of: id) == spec.architecture)
            #expect(pool.repoName(of: id) == "fixture")
            #expect(pool.location(of: id) == built.path)
            let checksum = try #require(pool.checksum(of: id))
            #expect(checksum.type == "sha256")
            #expect(checksum.hex == built.sha256.hex)
            let size = try FileManager.default.attributesOfItem(atPath: "\(repo.root)/\(built.path)")[.size] as? Int
            #expect(pool.downloadSize(of: id).map(Int.init) == size)
            #expect(pool.isInstallable(id))
        }
    }

    @Test(
        "solving follows the fixture's Requires and Provides",
        arguments: [
            // foo-tools requires libfoo >= 1.1 and filesystem-mini; libfoo requires filesystem-mini.
            (
                ["foo-tools"],
                ["filesystem-mini-3.18-3.fc39.noarch", "foo-tools-2.0-1.fc39.x86_64", "libfoo-1.1-1.fc39.x86_64"]
            ),
            // The newer of the two libfoo versions.
            (["libfoo"], ["filesystem-mini-3.18-3.fc39.noarch", "libfoo-1.1-1.fc39.x86_64"]),
            (["smtpd-beta"], ["smtpd-beta-4.0-2.fc39.noarch"]),
        ])
    func solves(install: [String], expected: [String]) async throws {
        let (_, env, indexes) = try await fetchedStandard()
        let pool = try rpmPool()
        try pool.addRPM(indexes, store: env.store)
        var request = SolveRequest()
        request.install = install
        #expect(nevras(pool, try pool.solve(request)) == expected)
    }

    @Test("a virtual Requires is met by exactly one of its conflicting providers; both at once is unsatisfiable")
    func virtualProvider() async throws {
        let (_, env, indexes) = try await fetchedStandard()
        let pool = try rpmPool()
        try pool.addRPM(indexes, store: env.store)
        var request = SolveRequest()
        request.install = ["mailx-mini"]
        let names = try pool.solve(request).map { pool.name(of: $0) }.sorted()
        #expect(names.count == 2)
        #expect(names.first == "mailx-mini")
        #expect(names.last == "smtpd-alpha" || names.last == "smtpd-beta")

        request.install = ["smtpd-alpha", "smtpd-beta"]
        let error = await strataError { _ = try pool.solve(request) }
        #expect(error?.code == .unsatisfiable)
        request.install = ["no-such-package"]
        #expect(await strataError { _ = try pool.solve(request) }?.code == .notFound)
    }

    @Test("the .solv cache is written, reloads the same solvables, and is used without the primary blob")
    func solvCache() async throws {
        let (_, env, indexes) = try await fetchedStandard()
        let cachePath = "\(env.store.root)/cache/solv/\(indexes.primary.sha256.hex).v1.solv"
        let first = try rpmPool()
        try first.addRPM(indexes, store: env.store)
        #expect(FileManager.default.fileExists(atPath: cachePath))

        // Without the primary blob, only the cache can supply the packages.
        try FileManager.default.removeItem(atPath: env.store.path(of: indexes.primary.sha256))
        let second = try rpmPool()
        try second.addRPM(indexes, store: env.store)
        func describe(_ pool: SolvPool) -> [String] {
            pool.allSolvables.map { id in
                let checksum = pool.checksum(of: id)
                return [
                    pool.describe(id), pool.location(of: id) ?? "-", checksum?.type ?? "-", checksum?.hex ?? "-",
                    pool.downloadSize(of: id).map { String($0) } ?? "-",
                ].joined(separator: " ")
            }
        }
        #expect(describe(second) == describe(first))
        #expect(describe(second).count == RpmFixtureRepo.standardPackages.count)
        var request = SolveRequest()
        request.install = ["foo-tools"]
        #expect(nevras(second, try second.solve(request)) == nevras(first, try first.solve(request)))

        // And without the cache too, loading fails: the test above did depend on it.
        try FileManager.default.removeItem(atPath: cachePath)
        #expect(await strataError { try rpmPool().addRPM(indexes, store: env.store) } != nil)
    }

    @Test("a primary that decompresses to other bytes than repomd.xml's open-checksum is refused")
    func openChecksumMismatch() async throws {
        let (_, env, fetched) = try await fetchedStandard()
        var indexes = fetched
        indexes.primary.openSHA256 = SHA256Digest.of(Array("something else".utf8))
        let error = await strataError { try rpmPool().addRPM(indexes, store: env.store) }
        #expect(error?.code == .verificationFailed)
        #expect(error?.message.contains("open-checksum") == true)
    }

    @Test("a Debian pool refuses rpm metadata")
    func wrongFamily() async throws {
        let (_, env, indexes) = try await fetchedStandard()
        let pool = try SolvPool(family: .deb, architecture: Architecture("amd64"))
        let error = await strataError { try pool.addRPM(indexes, store: env.store) }
        #expect(error?.code == .invalidInput)
    }
}
