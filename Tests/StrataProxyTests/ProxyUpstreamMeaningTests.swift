// Issue 11, item 3: what the upstream sends is what it means. A scripted upstream on loopback
// (ScriptedUpstream) sends what no well-behaved server does, and the proxy must neither cache nor
// serve bytes that mean something else, nor leave a client waiting.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite("What the upstream sends is what it means", .timeLimit(.minutes(2)))
struct ProxyUpstreamMeaningTests {
    static func text(_ response: RawHTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test("bytes after a complete response never become the next response")
    func bytesAfterResponse() async throws {
        let upstream = try ScriptedUpstream { path in
            switch path {
            case "/pool/a.deb":
                return .parts([ScriptedUpstream.ok(Array("hello".utf8)), ScriptedUpstream.ok(Array("smuggled".utf8))], gap: .milliseconds(300))
            case "/pool/c.deb": return .bytes(ScriptedUpstream.ok(Array("hello".utf8)) + ScriptedUpstream.ok(Array("smuggled".utf8)))
            case "/pool/b.deb": return .bytes(ScriptedUpstream.ok(Array("the real b".utf8)))
            default: return .bytes(Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8))
            }
        }
        defer { upstream.stop() }
        try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
            let a = try await proxy.get("/up/pool/a.deb")
            #expect(a.status == 200 && Self.text(a) == "hello")
            await proxy.settle()
            try await Task.sleep(for: .milliseconds(600))  // the smuggled response arrives on the idle connection
            let b = try await proxy.get("/up/pool/b.deb")
            #expect(b.status == 200 && Self.text(b) == "the real b", "b was answered with \(Self.text(b))")
            await proxy.settle()
            #expect(proxy.server.service.cache.entry("up/pool/b.deb")?.size == 10)
            // The same in one write.
            let c = try await proxy.get("/up/pool/c.deb")
            #expect(c.status == 200 && Self.text(c) == "hello")
            await proxy.settle()
            let b2 = try await proxy.get("/up/pool/b2.deb")
            #expect(b2.status == 404, "b2 was answered with \(b2.status) \(Self.text(b2))")
            print("upstream connections: \(upstream.requests.map { "\($0.path)@\($0.connection)" })")
        }
    }

    @Test("a zero-length file is answered at once, to HTTP/1.1 and HTTP/1.0 clients, and then from the cache")
    func zeroLengthFile() async throws {
        let upstream = try ScriptedUpstream { _ in .bytes(ScriptedUpstream.ok([])) }
        defer { upstream.stop() }
        try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
            let start = ContinuousClock.now
            let first = try await proxy.get("/up/dists/stable/main/i18n/Translation-en")
            #expect(first.status == 200 && first.body.isEmpty && first.announcedLength == 0)
            #expect(ContinuousClock.now - start < .seconds(5), "the answer took \(ContinuousClock.now - start)")
            await proxy.settle()
            let second = try await proxy.get("/up/dists/stable/main/i18n/Translation-en")
            #expect(second.status == 200 && second.body.isEmpty && second.headers["x-strata-cache"] == "HIT")
            let exchange = try await RawHTTPClient.exchange(
                port: proxy.port, "GET /up/pool/empty.deb HTTP/1.0\r\n\r\n", idleTimeout: .seconds(5))
            #expect(exchange.responses().first?.status == 200)
        }
    }

    @Test("a transfer that fails before its first byte is a 502, and a silent upstream a 504; nothing is cached")
    func failureBeforeFirstByte() async throws {
        let upstream = try ScriptedUpstream { path in
            switch path {
            case "/pool/closes.deb": return .close
            case "/pool/head-only.deb": return .bytesThenClose(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n".utf8))
            case "/pool/silent.deb": return .silence
            default: return .bytes(ScriptedUpstream.ok(Array("fine".utf8)))
            }
        }
        defer { upstream.stop() }
        try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"], configure: { $0.upstreamTimeout = .seconds(2) }) { proxy in
            let closes = try await proxy.get("/up/pool/closes.deb")
            #expect(closes.status == 502, "\(closes.status) \(Self.text(closes))")
            let headOnly = try await proxy.get("/up/pool/head-only.deb")
            #expect(headOnly.status == 502, "a head and no byte: \(headOnly.status), \(headOnly.body.count) bytes")
            let silent = try await proxy.get("/up/pool/silent.deb")
            #expect(silent.status == 504, "\(silent.status) \(Self.text(silent))")
            await proxy.settle()
            #expect(proxy.server.service.cache.count == 0)
            #expect(try await proxy.get("/up/pool/fine.deb").status == 200)
        }
    }

    @Test("a body with Content-Encoding is served with it, from the upstream and from the cache")
    func contentEncoding() async throws {
        let body: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]  // gzip of ""
        let upstream = try ScriptedUpstream { _ in .bytes(ScriptedUpstream.ok(body, headers: ["Content-Encoding: gzip"])) }
        defer { upstream.stop() }
        try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
            let miss = try await proxy.get("/up/dists/stable/Contents-amd64.gz")
            #expect(miss.status == 200 && miss.body == body)
            #expect(miss.headers["content-encoding"] == "gzip")
            await proxy.settle()
            let hit = try await proxy.get("/up/dists/stable/Contents-amd64.gz")
            #expect(hit.headers["x-strata-cache"] == "HIT")
            #expect(hit.body == body && hit.headers["content-encoding"] == "gzip")
            #expect(upstream.requests.first?.head.lowercased().contains("accept-encoding: identity") == true)
        }
    }
}

@Suite("A slow revalidation does not stall an index's readers", .timeLimit(.minutes(2)))
struct ProxyRevalidationWaitTests {
    @Test("past revalidation-wait the cached index is served, marked stale; the revalidation still completes", .timeLimit(.minutes(1)))
    func slowRevalidation() async throws {
        let tree = try makeUpstreamTree(files: ["dists/stable/InRelease": 3000])
        let old = Array(FileManager.default.contents(atPath: "\(tree)/dists/stable/InRelease")!)
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(
                backends: ["up=\(upstream.baseURL)"], indexTTL: .zero, configure: { $0.revalidationWait = .seconds(1) }
            ) { proxy in
                #expect(try await proxy.get("/up/dists/stable/InRelease").body == old)
                await proxy.settle()
                try Data(pseudoRandomBytes(3500, seed: 7)).write(to: URL(fileURLWithPath: "\(tree)/dists/stable/InRelease"))
                // The revalidation takes 8 s; the readers are answered by the 1 s wait with the old
                // copy, marked STALE (had they waited for it, they would get the new bytes).
                upstream.setFault(.delay(.seconds(8)), for: "/dists/stable/InRelease")
                let readers = try await withThrowingTaskGroup(of: RawHTTPResponse.self) { group in
                    for _ in 0..<5 { group.addTask { try await proxy.get("/up/dists/stable/InRelease") } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for reader in readers {
                    #expect(reader.status == 200 && reader.body == old && reader.headers["x-strata-cache"] == "STALE")
                }
                await proxy.settle()
                upstream.setFault(nil, for: "/dists/stable/InRelease")
                let fresh = try await proxy.get("/up/dists/stable/InRelease")
                #expect(fresh.body.count == 3500, "the revalidation was lost")
            }
        }
    }
}

@Suite("A trickling upstream does not hold its clients", .timeLimit(.minutes(1)))
struct ProxyTrickleTests {
    @Test("two bytes a second: past upstream-timeout the transfer fails, the client is cut off, nothing is cached")
    func trickle() async throws {
        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".utf8)
        let parts = [head + [0x61]] + Array(repeating: [UInt8(0x61)], count: 60)
        let upstream = try ScriptedUpstream { _ in .parts(parts, gap: .milliseconds(500)) }
        defer { upstream.stop() }
        try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"], configure: { $0.upstreamTimeout = .seconds(2) }) { proxy in
            let exchange = try await RawHTTPClient.exchange(
                port: proxy.port, RawHTTPClient.request("GET", "/up/pool/trickle.deb", port: proxy.port), idleTimeout: .seconds(20))
            // The client streamed from the first byte and is cut off (not left waiting 30 s).
            let response = exchange.responses().first
            #expect(exchange.closedByServer, "the client was left waiting on a trickle")
            #expect(response.map { $0.status >= 500 || $0.isTruncated } ?? true)
            await proxy.settle()
            #expect(proxy.server.service.cache.count == 0)
        }
    }
}
