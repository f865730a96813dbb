// Issue 11, items 1, 4, 5 and 6: the proxy's keys are bytes, a blob it cannot open now keeps its
// record, and its memos are bounded. Swift's String equality is canonical equivalence, so
// `%E2%84%AA` (U+212A KELVIN SIGN) and `K` were one key in memory while the upstream serves two
// different files under them.
import Foundation
import NIOHTTP1
import StrataCore
import StrataStore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite("Proxy keys are bytes; records survive a passing failure; memos are bounded", .timeLimit(.minutes(2)))
struct ProxyExactKeyTests {
    static let kelvin = "\u{212A}"

    @Test("a 404 of one spelling does not refuse the other, and each spelling gets its own bytes")
    func canonicallyEquivalentPaths() async throws {
        // Not one dictionary literal: "pool/b/K.deb" and the Kelvin spelling are one String key.
        let tree = try makeUpstreamTree(files: ["pool/a/K.deb": 1000, "pool/b/K.deb": 1100, "pool/c/e\u{301}.deb": 1200])
        try Data(pseudoRandomBytes(1300, seed: 99)).write(to: URL(fileURLWithPath: "\(tree)/pool/b/\(Self.kelvin).deb"))
        func bytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: "\(tree)/\(path)")!) }
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                // The Kelvin sign's file does not exist upstream: a 404, remembered.
                #expect(try await proxy.get("/up/pool/a/%E2%84%AA.deb").status == 404)
                #expect(try await proxy.get("/up/pool/a/%E2%84%AA.deb").status == 404)
                let real = try await proxy.get("/up/pool/a/K.deb")
                #expect(real.status == 200, "the 404 of the Kelvin spelling refused K.deb")
                #expect(real.body == bytes("pool/a/K.deb"))
                // The Kelvin spelling cached first is no hit for K.
                let kelvin = try await proxy.get("/up/pool/b/%E2%84%AA.deb")
                #expect(kelvin.status == 200 && kelvin.body == bytes("pool/b/\(Self.kelvin).deb"))
                await proxy.settle()
                let k = try await proxy.get("/up/pool/b/K.deb")
                #expect(k.status == 200 && k.body == bytes("pool/b/K.deb"), "K.deb was answered with the Kelvin file's bytes")
                #expect(k.headers["x-strata-cache"] != "HIT")
                // "é" decomposed (e + U+0301) and precomposed (U+00E9) are two files upstream.
                let decomposed = try await proxy.get("/up/pool/c/e%CC%81.deb")
                #expect(decomposed.status == 200 && decomposed.body == bytes("pool/c/e\u{301}.deb"))
                await proxy.settle()
                let precomposed = try await proxy.get("/up/pool/c/%C3%A9.deb")
                #expect(precomposed.status == 404, "the decomposed file was served for the precomposed name")
                #expect(proxy.server.service.cache.count == 4)
            }
        }
    }

    @Test("a cached file that cannot be opened now is a 503, and its record stays")
    func unopenableBlobKeepsRecord() async throws {
        let tree = try makeUpstreamTree(files: ["pool/big.deb": 200_000])
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                #expect(try await proxy.get("/up/pool/big.deb").status == 200)
                await proxy.settle()
                let entry = try #require(proxy.server.service.cache.entry("up/pool/big.deb"))
                let blob = proxy.server.service.cache.blobs.path(of: entry.sha256)
                // The blob cannot be opened (ELOOP), as with no descriptors left (EMFILE): a passing failure.
                let aside = blob + ".aside"
                #expect(rename(blob, aside) == 0)
                #expect(symlink(blob, blob) == 0)
                let refused = try await proxy.get("/up/pool/big.deb")
                #expect(refused.status == 503, "\(refused.status) \(String(decoding: refused.body, as: UTF8.self))")
                #expect(proxy.server.service.cache.entry("up/pool/big.deb") == entry, "the record was dropped")
                unlink(blob)
                #expect(rename(aside, blob) == 0)
                let requestsBefore = upstream.requestCount(path: "/pool/big.deb")
                let again = try await proxy.get("/up/pool/big.deb")
                #expect(again.status == 200 && again.body.count == 200_000)
                #expect(again.headers["x-strata-cache"] == "HIT")
                #expect(upstream.requestCount(path: "/pool/big.deb") == requestsBefore)
            }
        }
    }

    @Test("the route memo stays bounded by bytes on long distinct paths")
    func routeMemoBounded() throws {
        var configuration = ProxyConfiguration()
        try configuration.addBackend("up=http://127.0.0.1:9/debian")
        let router = RequestRouter(backends: configuration.backends)
        let local = LoopLocal()
        let padding = String(repeating: "p", count: 400)
        for index in 0..<6000 {
            _ = local.route(method: .GET, uri: "/up/pool/\(padding)\(index).deb", router: router)
            #expect(local.routeMemo.bytes <= LoopLocal.routeMemoBytes)
        }
        #expect(local.routeMemo.entries > 0)
        // A target too long to remember is routed, not kept.
        let long = "/up/pool/" + String(repeating: "q", count: 1500) + ".deb"
        let before = local.routeMemo.entries
        guard case .file = local.route(method: .GET, uri: long, router: router) else {
            Issue.record("a long target was not routed")
            return
        }
        #expect(local.routeMemo.entries == before)
        // Two spellings of one character are two memo entries, two keys.
        guard case .file(let a, _) = local.route(method: .GET, uri: "/up/pool/\u{212A}", router: router),
            case .file(let b, _) = local.route(method: .GET, uri: "/up/pool/K", router: router)
        else {
            Issue.record("not routed")
            return
        }
        #expect(a != b)
        #expect(a.text.utf8.count != b.text.utf8.count)
    }

    @Test("remembered 404s are capped, and expired ones are dropped")
    func notFoundBounded() throws {
        let cache = try ProxyCache(root: try TemporaryDirectory.make(prefix: "proxycache"))
        let start = ContinuousClock.now
        for index in 0..<25_000 {
            cache.rememberNotFound("up/pool/missing-\(index).deb", until: start + .seconds(10), now: start)
        }
        #expect(cache.notFoundCount <= ProxyCache.notFoundCapacity)
        #expect(cache.isKnownMissing("up/pool/missing-24999.deb", now: start), "the newest are kept")
        // After they expire, the next one sweeps them away.
        cache.rememberNotFound("up/pool/later.deb", until: start + .seconds(100), now: start + .seconds(60))
        #expect(cache.notFoundCount == 1)
    }
}
