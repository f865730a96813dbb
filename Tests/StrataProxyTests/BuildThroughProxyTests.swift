// `strata build --proxy` and `--proxy-cache`: the build's downloader (the same HTTPFetcher
// `strata build` uses) through a running proxy, and reading the proxy's cache directly.
import Foundation
import StrataCore
import StrataFetch
import StrataStore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite("strata build and the proxy", .timeLimit(.minutes(2)))
struct BuildThroughProxyTests {
    @Test("the build's downloader goes through the proxy, then reads its cache directly")
    func fetcherThroughProxyThenFromCache() async throws {
        let repo = try await DebFixtureRepo.standard()
        let package = try #require(repo.package("editor-nano"))
        try await LoopbackHTTPServer.withServer(serving: repo.root) { upstream in
            try await ProxyHarness.with(backends: ["fixture=\(upstream.baseURL)"]) { proxy in
                // Through the proxy (forward form, as AsyncHTTPClient sends it).
                let first = try BlobStore(root: try TemporaryDirectory.make(prefix: "buildstore"))
                let viaProxy = try HTTPFetcher(store: first, proxy: proxy.url)
                let digest = try await viaProxy.fetch(
                    "\(upstream.baseURL)\(package.path)", expected: package.sha256, size: UInt64(package.size))
                #expect(digest == package.sha256)
                #expect(upstream.requests.allSatisfy { $0.headers["user-agent"] == "strata-proxy" })
                await proxy.settle()
                #expect(proxy.server.service.cache.entry("fixture/\(package.path)")?.sha256 == package.sha256)

                // A second store on this host reads the proxy's cache: no request at all.
                upstream.resetRequests()
                let second = try BlobStore(root: try TemporaryDirectory.make(prefix: "buildstore"))
                let direct = try HTTPFetcher(store: second, sharedBlobs: try BlobStore(root: proxy.cache))
                let again = try await direct.fetch(
                    "\(upstream.baseURL)\(package.path)", expected: package.sha256, size: UInt64(package.size))
                #expect(again == package.sha256 && second.contains(package.sha256))
                #expect(upstream.requests.isEmpty)
                #expect(proxy.server.service.metrics.value(.requests) == 1)

                // A blob in the shared cache whose content is not its name is not taken.
                let bogus = SHA256Digest.of(Array("not the package".utf8))
                try Data("tampered".utf8).write(to: URL(fileURLWithPath: try BlobStore(root: proxy.cache).path(of: bogus)))
                let third = try BlobStore(root: try TemporaryDirectory.make(prefix: "buildstore"))
                #expect(throws: StrataError.self) { try third.adopt(from: try BlobStore(root: proxy.cache), bogus) }
                #expect(!third.contains(bogus))
            }
        }
    }
}
