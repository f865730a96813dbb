// Hostile requests: each is answered with a 4xx, reaches no upstream and leaves nothing in the
// cache. The list grows with every attack we think of.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite("Hostile requests to the proxy", .timeLimit(.minutes(2)))
struct ProxyHostileRequestTests {
    /// Raw request texts and why each is hostile.
    static let requests: [(String, String)] = [
        ("dot-dot traversal", "GET /up/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("percent-encoded traversal", "GET /up/%2e%2e/%2E%2E/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("encoded slash", "GET /up/pool/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("NUL byte", "GET /up/pool/a%00.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("backslash traversal", "GET /up/pool/..\\..\\etc\\passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("absolute URL to a foreign host", "GET http://example.invalid/debian/dists/x/InRelease HTTP/1.1\r\nHost: example.invalid\r\n\r\n"),
        ("absolute URL with traversal", "GET http://127.0.0.1:UPSTREAM/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("absolute URL with credentials", "GET http://user:pw@127.0.0.1:UPSTREAM/pool/x.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("https through a plain proxy", "GET https://127.0.0.1:UPSTREAM/pool/x.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n"),
        ("POST", "POST /up/pool/x.deb HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
        ("oversized headers", "GET /up/pool/x.deb HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n"),
        (
            "Content-Length with Transfer-Encoding",
            "GET /up/pool/x.deb HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
        ("two Content-Lengths", "GET /up/pool/x.deb HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        ("malformed request line", "GARBAGE\r\n\r\n"),
        ("bad HTTP version", "GET /up/pool/x.deb HTTP/7.1\r\nHost: x\r\n\r\n"),
        ("space in target", "GET /up/pool/a b.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("query string", "GET /up/pool/x.deb?../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("unknown backend", "GET /nosuch/pool/x.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("overlong path", "GET /up/\(String(repeating: "a/", count: 100))x.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
        // A `/` followed by a combining mark is one Character that is not "/": checks are on bytes.
        ("encoded slash and a combining mark", "GET /up/pool/..%2F%CC%81..%2F%CC%81etc%2Fpasswd HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("absolute URL, encoded slash and a combining mark", "GET http://127.0.0.1:UPSTREAM/..%2F%CC%81x.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("dot-dot spelled with a combining mark after the slash", "GET /up/pool/%2E%2E%2F%CD%8F HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("no Host in HTTP/1.1", "GET /up/pool/x.deb HTTP/1.1\r\n\r\n"),
        ("two Host headers", "GET /up/pool/x.deb HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("a port with a sign", "GET http://127.0.0.1:+UPSTREAM/pool/x.deb HTTP/1.1\r\nHost: x\r\n\r\n"),
    ]

    @Test("each hostile request gets a 4xx and touches nothing", arguments: requests.map(\.0))
    func hostileRequest(name: String) async throws {
        let tree = try makeUpstreamTree(files: ["pool/x.deb": 100])
        let outside = try TemporaryDirectory.make(prefix: "outside")
        try Data("secret".utf8).write(to: URL(fileURLWithPath: "\(outside)/passwd"))
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"]) { proxy in
                let text = try #require(Self.requests.first { $0.0 == name }?.1)
                    .replacingOccurrences(of: "UPSTREAM", with: String(upstream.port))
                let exchange = try await RawHTTPClient.exchange(port: proxy.port, text, idleTimeout: .seconds(3))
                let response = exchange.responses().first
                let status = response?.status ?? 0
                #expect((400...499).contains(status), "\(name): answered \(status)")
                #expect(upstream.requests.isEmpty, "\(name) reached the upstream: \(upstream.requests)")
                #expect(proxy.server.service.cache.count == 0)
                // The proxy still serves.
                let good = try await proxy.get("/up/pool/x.deb")
                #expect(good.status == 200 && good.body.count == 100)
            }
        }
        #expect(try String(contentsOfFile: "\(outside)/passwd", encoding: .utf8) == "secret")
    }
}
