import Foundation
import StrataCore
import StrataRPM
import StrataStore
import StrataTestSupport
import Testing

@Suite("rpm-md repository client", .timeLimit(.minutes(3)))
struct RpmRepositoryClientTests {
    @Test("fetchIndexes verifies repomd.xml.asc and fetches the primary it names into the store")
    func fetchesAndVerifies() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        let location = try repo.primaryLocation()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let indexes = try await env.client.fetchIndexes(repo.source(server))
            #expect(indexes.source.name == "fixture")
            #expect(!indexes.source.baseURL.hasSuffix("/"))
            #expect(indexes.repomdDigest == (try SHA256Digest.of(file: repo.repomdPath)))
            #expect(indexes.primary.location == location)
            #expect(indexes.primary.sha256 == (try SHA256Digest.of(file: "\(repo.root)/\(location)")))
            let size = try FileManager.default.attributesOfItem(atPath: "\(repo.root)/\(location)")[.size] as? Int
            #expect(indexes.primary.size.map(Int.init) == size)
            #expect(indexes.primary.openSHA256 != nil)
            #expect(env.store.contains(indexes.primary.sha256))
            let revision = try #require(indexes.revision.flatMap(Double.init))
            #expect(indexes.timestamp.map { abs($0.timeIntervalSince1970 - revision) < 86_400 } == true)
            #expect(
                server.requests.map(\.path) == ["/repodata/repomd.xml", "/repodata/repomd.xml.asc", "/\(location)"])
        }
    }

    @Test("a second fetch revalidates repomd.xml and its signature (304) and downloads no primary")
    func secondFetchDownloadsNothing() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let first = try await env.client.fetchIndexes(repo.source(server))
            server.resetRequests()
            let second = try await env.client.fetchIndexes(repo.source(server))
            #expect(second.repomdDigest == first.repomdDigest)
            #expect(second.primary == first.primary)
            #expect(server.requests.map(\.path) == ["/repodata/repomd.xml", "/repodata/repomd.xml.asc"])
            #expect(server.requests.map(\.status) == [304, 304])
        }
    }

    @Test("a repomd.xml changed in transit fails verification and nothing else is fetched")
    func tamperedRepomd() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        let location = try repo.primaryLocation()
        let original = try String(contentsOfFile: repo.repomdPath, encoding: .utf8)
        let tampered = original.replacingOccurrences(of: "<revision>", with: "<revision>9")
        #expect(tampered != original)
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            server.setFault(.replaceBody(with: Array(tampered.utf8)), for: "/repodata/repomd.xml")
            let error = await strataError { _ = try await env.client.fetchIndexes(repo.source(server)) }
            #expect(error?.code == .verificationFailed)
            #expect(error?.message.contains("repomd.xml") == true)
            #expect(server.requestCount(path: "/\(location)") == 0)
        }
    }

    @Test("a keyring without the signing key fails verification")
    func unrelatedKey() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let unrelated = try await TestGPGKey.unrelated()
        let env = try RpmTestEnvironment()
        let location = try repo.primaryLocation()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let error = await strataError {
                _ = try await env.client.fetchIndexes(repo.source(server, keyring: unrelated.keyringPath))
            }
            #expect(error?.code == .verificationFailed)
            #expect(error?.message.contains(unrelated.keyringPath) == true)
            #expect(server.requestCount(path: "/\(location)") == 0)
        }
    }

    @Test("no repomd.xml.asc, or no keyring and not trusted, fails verification")
    func unsigned() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            server.setFault(.status(404), for: "/repodata/repomd.xml.asc")
            let missing = await strataError { _ = try await env.client.fetchIndexes(repo.source(server)) }
            #expect(missing?.code == .verificationFailed)
            #expect(missing?.message.contains("not signed") == true)

            let noKeyring = RpmRepositorySource(name: "nokey", baseURL: server.baseURL, keyring: nil)
            let error = await strataError { _ = try await env.client.fetchIndexes(noKeyring) }
            #expect(error?.code == .verificationFailed)
            #expect(error?.message.contains("keyring:") == true)
            #expect(error?.message.contains("trusted: true") == true)
        }
    }

    @Test("trusted: true skips the signature (not even fetched) and still checks the primary's digest")
    func trusted() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let source = RpmRepositorySource(name: "t", baseURL: server.baseURL, keyring: nil, trusted: true)
            let indexes = try await env.client.fetchIndexes(source)
            #expect(env.store.contains(indexes.primary.sha256))
            #expect(server.requestCount(path: "/repodata/repomd.xml.asc") == 0)
        }
    }

    @Test("a missing repository is .notFound naming the URL")
    func missingRepository() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let source = RpmRepositorySource(
                name: "x", baseURL: server.baseURL + "nope/", keyring: repo.key?.keyringPath)
            let error = await strataError { _ = try await env.client.fetchIndexes(source) }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("\(server.baseURL)nope/repodata/repomd.xml") == true)
        }
    }

    @Test("a primary with only a sha1 checksum is refused")
    func sha1Only() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        let original = try String(contentsOfFile: repo.repomdPath, encoding: .utf8)
        let sha1 = original.replacingOccurrences(of: "<checksum type=\"sha256\">", with: "<checksum type=\"sha\">")
        #expect(sha1 != original)
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            server.setFault(.replaceBody(with: Array(sha1.utf8)), for: "/repodata/repomd.xml")
            let source = RpmRepositorySource(name: "old", baseURL: server.baseURL, keyring: nil, trusted: true)
            let error = await strataError { _ = try await env.client.fetchIndexes(source) }
            #expect(error?.code == .verificationFailed)
            #expect(error?.message.contains("sha checksum, not sha256") == true, "\(error?.message ?? "")")
        }
    }

    @Test("a primary changed in transit is refused and nothing of it is stored")
    func tamperedPrimary() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        let location = try repo.primaryLocation()
        let real = try FileReader.readAll("\(repo.root)/\(location)")
        var bad = real
        bad[bad.count / 2] ^= 0xff
        let badDigest = SHA256Digest.of(bad)
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            server.setFault(.replaceBody(with: bad), for: "/\(location)")
            let error = await strataError { _ = try await env.client.fetchIndexes(repo.source(server)) }
            #expect(error?.code == .verificationFailed)
            #expect(error?.message.contains(location) == true)
            #expect(error?.message.contains(badDigest.hex) == true)
            #expect(server.requestCount(path: "/\(location)") == 1)
            #expect(!env.store.contains(badDigest))
            #expect(!env.store.contains(SHA256Digest.of(real)))
            let corrupt = try env.store.verifyAll()
            #expect(corrupt.isEmpty)
            #expect(env.temporaryFiles.isEmpty)
        }
    }

    @Test("a truncated primary is an error, nothing is stored, and a later clean fetch works")
    func truncatedPrimary() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        let location = try repo.primaryLocation()
        let real = try SHA256Digest.of(file: "\(repo.root)/\(location)")
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            server.setFault(.truncate(after: 40), for: "/\(location)")
            let error = await strataError { _ = try await env.client.fetchIndexes(repo.source(server)) }
            #expect(error != nil)
            #expect(error?.message.contains(location) == true, "\(error?.message ?? "")")
            #expect(!env.store.contains(real))
            let corrupt = try env.store.verifyAll()
            #expect(corrupt.isEmpty)
            #expect(env.temporaryFiles.isEmpty)

            server.removeAllFaults()
            let indexes = try await env.client.fetchIndexes(repo.source(server))
            #expect(indexes.primary.sha256 == real)
            #expect(env.store.contains(real))
        }
    }
}
