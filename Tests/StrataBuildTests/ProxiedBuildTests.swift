// `strata build --proxy` through a running `strata proxy`, and `--proxy-cache` reading the proxy's
// cache directly: the real executable, debian/12 minbase from the loopback copy of the mirror.
import Foundation
import StrataCore
import StrataProxy
import StrataStore
import StrataTestSupport
import Testing

@Suite(
    "Builds through strata proxy", .serialized,
    .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct ProxiedBuildTests {
    @Test("a build through the proxy equals a direct one; with --proxy-cache packages come from the cache")
    func buildThroughProxy() async throws {
        let served = try await LocalMirror.shared.minbase()
        let lock = try await InterruptedBuildTests.lockFile()
        let dir = try TemporaryDirectory.make(prefix: "strata-proxied")
        func build(_ name: String, _ extra: [String]) async throws {
            let arguments =
                try await InterruptedBuildTests.arguments(
                    lock: lock, store: "\(dir)/\(name)-store", output: "\(dir)/\(name).tar") + extra
            let result = try await Shell.run(InterruptedBuildTests.executable, arguments, timeout: .seconds(600))
            #expect(result.exitCode == 0, "\(name): \(result.errorOutput)")
        }
        try await build("direct", [])

        var configuration = ProxyConfiguration()
        configuration.listenPort = 0
        configuration.cacheDirectory = "\(dir)/proxy-cache"
        configuration.accessLog = nil
        configuration.cleanInterval = nil
        try configuration.addBackend("local=\(served.server.baseURL)")
        let proxy = try await ProxyServer.start(configuration: configuration)
        do {
            let url = "http://127.0.0.1:\(proxy.port)"
            try await build("proxied", ["--proxy", url])
            let packages = served.localLock.packages
            let cache = try BlobStore(root: configuration.cacheDirectory)
            #expect(packages.allSatisfy { cache.contains($0.sha256) }, "every package went through the proxy's cache")
            let before = try await RawHTTPClient.exchange(
                port: proxy.port, RawHTTPClient.request("GET", "/metrics", port: proxy.port))
            let requestsBefore = Self.counter("strata_proxy_requests_total", in: before)

            // A new store on the proxy's host: packages from the cache, only indexes asked for.
            try await build("from-cache", ["--proxy", url, "--proxy-cache", configuration.cacheDirectory])
            let after = try await RawHTTPClient.exchange(
                port: proxy.port, RawHTTPClient.request("GET", "/metrics", port: proxy.port))
            let asked = Self.counter("strata_proxy_requests_total", in: after) - requestsBefore - 1
            #expect(asked < packages.count / 4, "\(asked) requests reached the proxy for \(packages.count) packages")
        } catch {
            await proxy.shutdown(grace: .seconds(2))
            throw error
        }
        await proxy.shutdown(grace: .seconds(2))

        let reference = try SHA256Digest.of(file: "\(dir)/direct.tar")
        #expect(try SHA256Digest.of(file: "\(dir)/proxied.tar") == reference)
        #expect(try SHA256Digest.of(file: "\(dir)/from-cache.tar") == reference)
    }

    static func counter(_ name: String, in exchange: RawHTTPExchange) -> Int {
        let text = String(decoding: exchange.responses().first?.body ?? [], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }
}
