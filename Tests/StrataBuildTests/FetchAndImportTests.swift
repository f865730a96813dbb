// Issue 10, item 3: a build imports each package as its download completes. Three packages on a
// loopback server, the last one's download held back: the first ones are in the store (their
// package records written) while it is still on its way. A failed download, and a package that
// cannot be imported, each end both halves with that error and leave the store consistent.
import Foundation
import StrataCore
import StrataDeb
import StrataFetch
import StrataPackaging
import StrataStore
import StrataTestSupport
import Testing

@testable import StrataBuild

@Suite("Fetch and import at once")
struct FetchAndImportTests {
    struct Served {
        var repo: DebFixtureRepo
        var lock: Lockfile
    }

    /// Packages a, b and slow, unsigned (the lock pins each by sha256), and a lockfile of them.
    static func served() async throws -> Served {
        let specs = ["a", "b", "slow"].map { name in
            DebPackageSpec(
                name: "fi-\(name)", version: "1", architecture: "all",
                files: ["/usr/share/fi/\(name)": "\(name)\n"])
        }
        let repo = try await DebFixtureRepo.build(packages: specs, suites: [DebSuite(name: "stable", codename: "fi")], key: nil)
        let packages = specs.map { spec -> Lockfile.Package in
            let built = repo.package(spec.name)!
            return Lockfile.Package(
                name: spec.name, version: "1", architecture: "all", repository: "fi", path: built.path,
                sha256: built.sha256, size: UInt64(built.size))
        }
        let repository = Lockfile.Repository(
            name: "fi", url: "http://127.0.0.1:9/unused", suite: "stable",
            release: .init(path: "dists/stable/InRelease", sha256: SHA256Digest.of([1]), size: nil), date: nil, indexes: [])
        let lock = Lockfile(
            lockfileVersion: Lockfile.currentVersion, target: "fixture/1", set: "fi", family: .deb, architecture: "amd64",
            configDigest: SHA256Digest.of(Array("fi".utf8)), repositories: [repository], packages: packages)
        return Served(repo: repo, lock: lock)
    }

    static func builder(_ store: Store) throws -> Builder {
        Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs), packagers: .testing)
    }

    static func base(_ server: LoopbackHTTPServer) -> [String: String] {
        ["fi": String(server.baseURL.dropLast())]
    }

    @Test("the packages downloaded first are imported while the last one is still downloading")
    func importsWhileFetching() async throws {
        let served = try await Self.served()
        let store = try Store(root: try TemporaryDirectory.make(prefix: "strata-fi") + "/store")
        let slow = served.lock.packages[2]
        try await LoopbackHTTPServer.withServer(serving: served.repo.root) { server in
            server.setFault(.delay(.seconds(8)), for: "/\(slow.path)")
            let builder = try Self.builder(store)
            let building = Task { try await builder.fetchAndImport(served.lock, urls: Self.base(server), with: DebPackager()) }
            // Watch the store from outside until the first two packages' records are there.
            var seenEarly = false
            let deadline = ContinuousClock.now + .seconds(7)  // margin for a loaded machine
            while ContinuousClock.now < deadline {
                let early = served.lock.packages.prefix(2).allSatisfy {
                    FileManager.default.fileExists(atPath: store.packageRecordPath($0.sha256))
                }
                if early && !store.blobs.contains(slow.sha256) {
                    seenEarly = true
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let output = try await building.value
            #expect(seenEarly, "a and b were imported only after the held-back download finished")
            #expect(output.packages.map(\.name) == ["fi-a", "fi-b", "fi-slow"], "in the lockfile's order")
            #expect(output.imported == 3)
        }
        #expect(try store.fsck().isClean)
    }

    @Test("a failed download ends the import with that package's error; what was imported stays consistent")
    func failedDownload() async throws {
        let served = try await Self.served()
        let store = try Store(root: try TemporaryDirectory.make(prefix: "strata-fi") + "/store")
        let missing = served.lock.packages[2]
        try await LoopbackHTTPServer.withServer(serving: served.repo.root) { server in
            server.setFault(.status(404).delayed(by: .milliseconds(300)), for: "/\(missing.path)")
            let error = await #expect(throws: StrataError.self) {
                _ = try await Self.builder(store).fetchAndImport(served.lock, urls: Self.base(server), with: DebPackager())
            }
            #expect(error?.message.contains("fi-slow 1") == true, "\(String(describing: error))")
            #expect(error?.message.contains("404") == true, "\(String(describing: error))")
        }
        let report = try store.fsck()
        #expect(report.isClean, "\(report.problems)")
        #expect(!store.blobs.contains(missing.sha256))
    }

    @Test("a package that cannot be imported ends the fetch with its error, naming it")
    func failedImport() async throws {
        var served = try await Self.served()
        // b's file is replaced by bytes that are not a .deb, and the lock pins those bytes.
        let broken = "\(served.repo.root)/\(served.lock.packages[1].path)"
        try Array("not a deb\n".utf8).withUnsafeBufferPointer { try Data($0).write(to: URL(fileURLWithPath: broken)) }
        served.lock.packages[1].sha256 = try .of(file: broken)
        served.lock.packages[1].size = 10
        let store = try Store(root: try TemporaryDirectory.make(prefix: "strata-fi") + "/store")
        try await LoopbackHTTPServer.withServer(serving: served.repo.root) { server in
            server.setFault(.delay(.seconds(2)), for: "/\(served.lock.packages[2].path)")
            let error = await #expect(throws: StrataError.self) {
                _ = try await Self.builder(store).fetchAndImport(served.lock, urls: Self.base(server), with: DebPackager())
            }
            #expect(error?.message.contains("fi-b 1") == true, "\(String(describing: error))")
        }
        let report = try store.fsck()
        #expect(report.isClean, "\(report.problems)")
        #expect(!FileManager.default.fileExists(atPath: store.packageRecordPath(served.lock.packages[1].sha256)))
    }
}
