import Foundation
import StrataBuild
import StrataCore
import StrataPackaging
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("Locking an RPM template through the same interface")
struct RpmLockTests {
    static func tree(baseURL: String, keyring: String?, list: String) throws -> String {
        let root = try TemporaryDirectory.make(prefix: "strata-rpm-tree")
        let config = "\(root)/fixture-rpm/39/config"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        try """
            family: rpm
            distro: fixture-rpm
            version: "39"
            \(keyring.map { "keyring: \($0)\n" } ?? "")repositories:
              - name: base
                url: \(baseURL)

            """.write(toFile: "\(config)/template.yaml", atomically: true, encoding: .utf8)
        try list.write(toFile: "\(config)/base.list", atomically: true, encoding: .utf8)
        return root
    }

    static func lock(tree: String, why: String? = nil, store root: String? = nil) async throws -> Planner.Resolution {
        let spec = try TemplateTree(root: tree).load(target: "fixture-rpm/39", set: "base", architecture: Architecture("amd64"))
        let store = try BlobStore(root: root ?? TemporaryDirectory.make(prefix: "strata-store"))
        return try await Planner(fetcher: try HTTPFetcher(store: store), mirrors: MirrorMap(roles: [:]), packagers: .testing).resolve(spec, why: why)
    }

    @Test("strata lock resolves an rpm-md repository into a lockfile with each rpm's sha256 and size")
    func locks() async throws {
        let repo = try await RpmFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try Self.tree(baseURL: server.baseURL, keyring: repo.key?.keyringPath, list: "foo-tools\n")
            let resolution = try await Self.lock(tree: tree, why: "filesystem-mini")
            let lock = resolution.lockfile
            #expect(lock.family == .rpm)
            #expect(lock.architecture == "x86_64")
            #expect(lock.packages.map { "\($0.name)-\($0.version)" } == [
                "filesystem-mini-3.18-3.fc39", "foo-tools-2.0-1.fc39", "libfoo-1.1-1.fc39",
            ])
            for package in lock.packages {
                #expect(repo.packages.contains { $0.sha256 == package.sha256 })
                #expect(try SHA256Digest.of(file: "\(repo.root)/\(package.path)") == package.sha256)
            }
            #expect(lock.repositories.first?.release.path == "repodata/repomd.xml")
            #expect(resolution.why?.last?.contains("filesystem-mini") == true)

            // The same repomd.xml and template again: the lock kept from the first resolution,
            // with its signature's verification kept too.
            let store = try TemporaryDirectory.make(prefix: "strata-store")
            let first = try await Self.lock(tree: tree, store: store)
            let second = try await Self.lock(tree: tree, store: store)
            #expect(!first.reused && second.reused)
            #expect(try second.lockfile.encoded() == first.lockfile.encoded())
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(store)/cache/verified").count == 1)
        }
    }

    @Test("a Debian selector in an rpm set is a clear error")
    func selectorRefused() async throws {
        let repo = try await RpmFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try Self.tree(baseURL: server.baseURL, keyring: repo.key?.keyringPath, list: "?essential\n")
            let error = await #expect(throws: StrataError.self) { try await Self.lock(tree: tree) }
            #expect(error?.message.contains("Debian selector") == true)
        }
    }

    @Test("an rpm repository signed by another key is refused")
    func wrongKey() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let other = try await TestGPGKey.unrelated()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try Self.tree(baseURL: server.baseURL, keyring: other.keyringPath, list: "foo-tools\n")
            let error = await #expect(throws: StrataError.self) { try await Self.lock(tree: tree) }
            #expect(error?.code == .verificationFailed)
        }
    }
}
