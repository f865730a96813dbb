// Concurrency and faults: one upstream transfer for many clients, an upstream that breaks off or
// lies, a client that leaves, a full disk; each leaves no partial or wrong file in the cache and
// the proxy serving afterwards.
import Foundation
import StrataCore
import StrataStore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite("Proxy concurrency and faults", .timeLimit(.minutes(3)))
struct ProxyFaultTests {
    static let big = "pool/main/b/big/big_1.0_amd64.deb"
    static let small = "pool/main/s/small/small_1.0_amd64.deb"
    static let files = [big: 3 * 1024 * 1024 + 17, small: 10 * 1024]

    @Test("200 concurrent clients of one uncached file cause one upstream request")
    func twoHundredClientsOneUpstreamRequest() async throws {
        let tree = try makeUpstreamTree(files: Self.files)
        let expected = try Data(contentsOf: URL(fileURLWithPath: "\(tree)/\(Self.big)"))
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            // Slow enough that every client asks while the transfer runs.
            upstream.setFault(.throttle(256 * 1024, every: .milliseconds(100)), for: "/\(Self.big)")
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                let out = try TemporaryDirectory.make(prefix: "clients")
                var arguments = ["-s", "--fail", "--parallel", "--parallel-max", "200", "--parallel-immediate"]
                for index in 0..<200 { arguments += ["-o", "\(out)/\(index)", "\(proxy.url)/up/\(Self.big)"] }
                let result = try await Shell.run("curl", arguments, timeout: .seconds(120), check: false)
                #expect(result.exitCode == 0, "curl: \(result.errorOutput)")
                #expect(upstream.requestCount(path: "/\(Self.big)") == 1)
                for index in 0..<200 {
                    let got = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(index)"))
                    #expect(got == expected, "client \(index) got \(got.count) bytes")
                }
                #expect(try await proxy.leftovers().temporaries.isEmpty)
            }
        }
    }

    @Test("an upstream that closes mid-body fails the clients and caches nothing")
    func upstreamClosesMidBody() async throws {
        let tree = try makeUpstreamTree(files: Self.files)
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            upstream.setFault(.truncate(after: 100_000), for: "/\(Self.big)")
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                let broken = try? await proxy.get("/up/\(Self.big)")
                #expect(broken == nil || broken!.isTruncated || broken!.status >= 500, "a cut transfer looked complete")
                #expect(proxy.server.service.cache.entry("up/\(Self.big)") == nil)
                let leftovers = try await proxy.leftovers()
                #expect(leftovers.temporaries.isEmpty && leftovers.badBlobs.isEmpty)
                // The next request starts a new transfer and succeeds.
                upstream.setFault(nil, for: "/\(Self.big)")
                let good = try await proxy.get("/up/\(Self.big)")
                #expect(good.status == 200 && !good.isTruncated)
                #expect(good.body.count == Self.files[Self.big])
            }
        }
    }

    @Test("wrong bytes for a file a cached index names are neither stored nor served as good")
    func wrongBytesAgainstIndex() async throws {
        let repo = try await DebFixtureRepo.standard()
        guard let package = repo.package("editor-nano") else {
            Issue.record("fixture lacks editor-nano")
            return
        }
        try await LoopbackHTTPServer.withServer(serving: repo.root) { upstream in
            try await ProxyHarness.with(backends: ["fixture=\(upstream.baseURL)"]) { proxy in
                // The client reads the indexes first, as apt does.
                #expect(try await proxy.get("/fixture/dists/stable/InRelease").status == 200)
                #expect(try await proxy.get("/fixture/dists/stable/main/binary-amd64/Packages.xz").status == 200)
                let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(repo.root)/\(package.path)")))
                var tampered = original
                tampered[tampered.count / 2] ^= 0xff
                upstream.setFault(.replaceBody(with: tampered), for: "/\(package.path)")

                let response = try? await proxy.get("/fixture/\(package.path)")
                if let response {
                    #expect(response.isTruncated || response.status == 502, "tampered bytes served as good")
                    #expect(response.body != tampered)
                }
                #expect(proxy.server.service.cache.entry("fixture/\(package.path)") == nil)
                #expect(proxy.server.service.metrics.value(.verificationFailures) == 1)
                // A different length is refused before any byte goes out.
                upstream.setFault(.replaceBody(with: original + [0]), for: "/\(package.path)")
                let longer = try await proxy.get("/fixture/\(package.path)")
                #expect(longer.status == 502)
                #expect(String(decoding: longer.body, as: UTF8.self).contains("index names"))

                let leftovers = try await proxy.leftovers()
                #expect(leftovers.temporaries.isEmpty && leftovers.badBlobs.isEmpty)
                upstream.setFault(nil, for: "/\(package.path)")
                let good = try await proxy.get("/fixture/\(package.path)")
                #expect(good.status == 200 && good.body == original)
            }
        }
    }

    @Test("a client that leaves does not cancel the transfer for the cache")
    func clientDisconnectKeepsDownload() async throws {
        let tree = try makeUpstreamTree(files: Self.files)
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            upstream.setFault(.throttle(512 * 1024, every: .milliseconds(50)), for: "/\(Self.big)")
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                // Reads for 0.2 s (a fraction of the body), then hangs up.
                _ = try await RawHTTPClient.exchange(
                    port: proxy.port, RawHTTPClient.request("GET", "/up/\(Self.big)", port: proxy.port),
                    idleTimeout: .milliseconds(200))
                var stored: CacheEntry?
                for _ in 0..<100 {
                    stored = proxy.server.service.cache.entry("up/\(Self.big)")
                    if stored != nil { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(stored?.size == UInt64(Self.files[Self.big]!))
                let again = try await proxy.get("/up/\(Self.big)")
                #expect(again.headers["x-strata-cache"] == "HIT")
                #expect(upstream.requestCount(path: "/\(Self.big)") == 1)
                #expect(try await proxy.leftovers().badBlobs.isEmpty)
            }
        }
    }

    @Test("concurrent requests for a stale index share one revalidation; a dead upstream gets the stale copy")
    func sharedRevalidationAndStale() async throws {
        let repo = try await DebFixtureRepo.standard()
        let path = "/dists/stable/InRelease"
        try await LoopbackHTTPServer.withServer(serving: repo.root) { upstream in
            try await ProxyHarness.with(backends: ["fixture=\(upstream.baseURL)"], indexTTL: .zero) { proxy in
                #expect(try await proxy.get("/fixture\(path)").status == 200)
                upstream.resetRequests()
                upstream.setFault(.delay(.milliseconds(700)), for: path)
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<40 { group.addTask { try await proxy.get("/fixture\(path)").status } }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.allSatisfy { $0 == 200 })
                // Forty clients, at most a couple of revalidations (a client arriving after one
                // finished starts the next, since the TTL is zero), never one per client.
                #expect(upstream.requestCount(path: path) <= 3, "\(upstream.requestCount(path: path)) revalidations")
                #expect(upstream.requests.allSatisfy { $0.status == 304 })

                upstream.setFault(.status(503), for: path)
                let stale = try await proxy.get("/fixture\(path)")
                #expect(stale.status == 200)
                #expect(stale.headers["x-strata-cache"] == "STALE")
                #expect(stale.headers["warning"]?.hasPrefix("111") == true)
            }
        }
    }

    @Test("an idle kept-alive client connection is closed; a silent one too")
    func idleConnectionsClosed() async throws {
        let tree = try makeUpstreamTree(files: Self.files)
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(
                backends: ["up=\(upstream.baseURL)"], configure: { $0.clientIdleTimeout = .seconds(1) }
            ) { proxy in
                let kept = try await RawHTTPClient.exchange(
                    port: proxy.port, RawHTTPClient.request("GET", "/up/\(Self.small)", port: proxy.port, keepAlive: true),
                    idleTimeout: .seconds(4))
                #expect(kept.responses().first?.status == 200)
                #expect(kept.closedByServer, "the idle keep-alive connection stayed open")
                let silent = try await RawHTTPClient.exchange(port: proxy.port, "", idleTimeout: .seconds(4))
                #expect(silent.closedByServer && silent.bytes.isEmpty)
            }
        }
    }

    @Test("a revalidation that breaks off after its head cuts the streaming client off instead of hanging it")
    func revalidationBreaksAfterHead() async throws {
        let tree = try makeUpstreamTree(files: ["dists/stable/Release": 5000])
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"], indexTTL: .zero) { proxy in
                #expect(try await proxy.get("/up/dists/stable/Release").status == 200)
                // New content upstream (so no 304), announced in full, then the connection drops.
                try Data(pseudoRandomBytes(6000, seed: 99)).write(to: URL(fileURLWithPath: "\(tree)/dists/stable/Release"))
                upstream.setFault(.truncate(after: 100), for: "/dists/stable/Release")
                let exchange = try await RawHTTPClient.exchange(
                    port: proxy.port, RawHTTPClient.request("GET", "/up/dists/stable/Release", port: proxy.port, keepAlive: true),
                    idleTimeout: .seconds(5))
                // Either the body is cut off (the client was streaming) or a whole 502 came (the
                // transfer had failed before this client started streaming); never a client left waiting.
                let response = exchange.responses().first
                let answered = response.map { $0.status >= 500 && !$0.isTruncated } ?? false
                #expect(exchange.closedByServer || answered, "the client was left waiting on a transfer that had ended")
                if let response, response.status == 200 { #expect(response.isTruncated) }
                await proxy.settle()
                // Broken off before its first byte: no client streamed yet, so the cached copy is
                // served whole, marked stale (issue 11: no 200 head with an empty body).
                upstream.setFault(.truncate(after: 0), for: "/dists/stable/Release")
                let stale = try await proxy.get("/up/dists/stable/Release")
                #expect(stale.status == 200 && stale.body.count == 5000 && stale.headers["x-strata-cache"] == "STALE")
                await proxy.settle()
                upstream.setFault(nil, for: "/dists/stable/Release")
                let good = try await proxy.get("/up/dists/stable/Release")
                #expect(good.status == 200 && good.body.count == 6000)
            }
        }
    }

    @Test("redirect targets that climb out of a base path are not followed")
    func redirectTraversalRefused() async throws {
        var configuration = ProxyConfiguration()
        configuration.cacheDirectory = try TemporaryDirectory.make(prefix: "proxycache")
        configuration.accessLog = nil
        try configuration.addBackend("debian=http://mirror.test/debian")
        let service = try ProxyService(configuration: configuration)
        #expect(service.isConfiguredUpstream("http://mirror.test/debian/pool/x.deb"))
        #expect(!service.isConfiguredUpstream("http://mirror.test/debian/../other/x.deb"))
        #expect(!service.isConfiguredUpstream("http://mirror.test/debian/%2e%2e/other/x.deb"))
        #expect(!service.isConfiguredUpstream("http://mirror.test/debianother/x.deb"))
        #expect(!service.isConfiguredUpstream("https://mirror.test/debian/pool/x.deb"))
        await service.shutdown()
    }

    @Test("a 404 from upstream is remembered briefly")
    func negativeCaching() async throws {
        let tree = try makeUpstreamTree(files: Self.files)
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                let first = try await proxy.get("/up/pool/main/n/nosuch/nosuch_1_amd64.deb")
                let second = try await proxy.get("/up/pool/main/n/nosuch/nosuch_1_amd64.deb")
                #expect(first.status == 404 && second.status == 404)
                #expect(upstream.requestCount(path: "/pool/main/n/nosuch/nosuch_1_amd64.deb") == 1)
                // The figures for a person and for Prometheus say so.
                let status = try await proxy.get("/_strata/")
                #expect(status.status == 200 && String(decoding: status.body, as: UTF8.self).contains("strata proxy"))
                let metrics = String(decoding: try await proxy.get("/metrics").body, as: UTF8.self)
                #expect(metrics.contains("strata_proxy_negative_hits_total 1\n"))
            }
        }
    }

    @Test("HEAD, Range, If-Range and If-Modified-Since are answered from the cache")
    func conditionalAndRangeFromCache() async throws {
        let tree = try makeUpstreamTree(files: Self.files)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(tree)/\(Self.big)")))
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                let target = "/up/\(Self.big)"
                let full = try await proxy.get(target)
                #expect(full.body == bytes)
                #expect(full.headers["last-modified"] != nil, "a miss passes Last-Modified on")

                let head = try await proxy.get(target, method: "HEAD")
                #expect(head.status == 200 && head.body.isEmpty && head.announcedLength == bytes.count)
                let etag = try #require(head.headers["etag"])
                let modified = try #require(head.headers["last-modified"])

                let range = try await proxy.get(target, headers: ["Range": "bytes=1000-1999"])
                #expect(range.status == 206 && range.body == Array(bytes[1000..<2000]))
                #expect(range.headers["content-range"] == "bytes 1000-1999/\(bytes.count)")
                let tail = try await proxy.get(target, headers: ["Range": "bytes=-10"])
                #expect(tail.status == 206 && tail.body == Array(bytes.suffix(10)))
                let resumed = try await proxy.get(target, headers: ["Range": "bytes=5-", "If-Range": etag])
                #expect(resumed.status == 206 && resumed.body == Array(bytes[5...]))
                let changed = try await proxy.get(target, headers: ["Range": "bytes=5-", "If-Range": "\"other\""])
                #expect(changed.status == 200 && changed.body == bytes)
                let beyond = try await proxy.get(target, headers: ["Range": "bytes=\(bytes.count)-"])
                #expect(beyond.status == 416)

                #expect(try await proxy.get(target, headers: ["If-Modified-Since": modified]).status == 304)
                #expect(try await proxy.get(target, headers: ["If-None-Match": etag]).status == 304)
                #expect(upstream.requestCount(path: "/\(Self.big)") == 1)
            }
        }
    }

    @Test("redirects are followed within configured upstreams only; a dead mirror fails over")
    func redirectsAndFailover() async throws {
        let tree = try makeUpstreamTree(files: Self.files)
        try await LoopbackHTTPServer.withServer(serving: tree) { first in
            try await LoopbackHTTPServer.withServer(serving: tree) { second in
                first.setFault(.redirect(to: "\(second.baseURL)\(Self.small)"), for: "/\(Self.small)")
                first.setFault(.redirect(to: "http://127.0.0.2:1/elsewhere.deb"), for: "/\(Self.big)")
                // Port 9 on loopback: nothing listens; the second mirror answers instead.
                try await ProxyHarness.with(backends: [
                    "up=\(first.baseURL)", "mirror=\(second.baseURL)", "failover=http://127.0.0.1:9/,\(second.baseURL)",
                ]) { proxy in
                    let redirected = try await proxy.get("/up/\(Self.small)")
                    #expect(redirected.status == 200 && redirected.body.count == Self.files[Self.small])
                    #expect(second.requestCount(path: "/\(Self.small)") == 1)
                    let refused = try await proxy.get("/up/\(Self.big)")
                    #expect(refused.status == 502)
                    #expect(String(decoding: refused.body, as: UTF8.self).contains("not a configured upstream"))
                    let failedOver = try await proxy.get("/failover/\(Self.big)")
                    #expect(failedOver.status == 200 && failedOver.body.count == Self.files[Self.big])
                }
            }
        }
    }

    @Test(
        "a full cache file system fails the download cleanly and the proxy keeps serving",
        .enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
    func fullFileSystem() async throws {
        let mountPoint = try TemporaryDirectory.make(prefix: "fullcache")
        try await Shell.run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let tree = try makeUpstreamTree(files: Self.files)
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"], cache: mountPoint) { proxy in
                let tooBig = try? await proxy.get("/up/\(Self.big)")
                if let tooBig { #expect(tooBig.isTruncated || tooBig.status >= 500) }
                #expect(proxy.server.service.cache.entry("up/\(Self.big)") == nil)
                #expect(try await proxy.leftovers().temporaries.isEmpty)
                #expect(proxy.server.service.metrics.value(.storeErrors) >= 1)
                let fits = try await proxy.get("/up/\(Self.small)")
                #expect(fits.status == 200 && fits.body.count == Self.files[Self.small])
                await proxy.settle()
                #expect(try await proxy.get("/up/\(Self.small)").headers["x-strata-cache"] == "HIT")
            }
        }
    }
}
