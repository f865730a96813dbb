import Foundation
import StrataCore
import StrataTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Loopback HTTP server", .timeLimit(.minutes(1)))
struct LoopbackHTTPServerTests {
    /// A directory with `/dists/stable/Release` (64 KiB of text) and `/hello.txt`.
    static func servedDirectory() throws -> (root: String, release: [UInt8]) {
        let root = try TemporaryDirectory.make(prefix: "served")
        try FileManager.default.createDirectory(atPath: root + "/dists/stable", withIntermediateDirectories: true)
        let release = Array((0..<4096).map { "line \($0) of a release file\n" }.joined().utf8.prefix(65536))
        try Data(release).write(to: URL(fileURLWithPath: root + "/dists/stable/Release"))
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: root + "/hello.txt"))
        return (root, release)
    }

    @Test("GET serves the file with Last-Modified and ETag; HEAD gives the headers only; missing is 404")
    func servesFiles() async throws {
        let (root, release) = try Self.servedDirectory()
        try await LoopbackHTTPServer.withServer(serving: root, lifetime: .seconds(30)) { server in
            #expect(server.baseURL == "http://127.0.0.1:\(server.port)/")
            let get = try await RawHTTPClient.exchange(
                port: server.port, RawHTTPClient.request("GET", "/dists/stable/Release", port: server.port))
            let response = try #require(get.responses().first)
            #expect(response.status == 200)
            #expect(response.body == release)
            #expect(response.headers["etag"]?.hasPrefix("\"") == true)
            #expect(response.headers["last-modified"]?.hasSuffix(" GMT") == true)

            let head = try await RawHTTPClient.exchange(
                port: server.port, RawHTTPClient.request("HEAD", "/hello.txt", port: server.port))
            let headResponse = try #require(head.responses(headRequests: 1).first)
            #expect(headResponse.status == 200)
            #expect(headResponse.announcedLength == 6)
            #expect(head.bytes.count < 400)  // headers only

            let missing = try await RawHTTPClient.exchange(
                port: server.port, RawHTTPClient.request("GET", "/dists/nope/Release", port: server.port))
            #expect(missing.responses().first?.status == 404)
            #expect(server.requestCount(path: "/dists/nope/Release") == 1)
            #expect(server.requests.map(\.status) == [200, 200, 404])
            #expect(server.requests.map(\.method) == ["GET", "HEAD", "GET"])
        }
    }

    @Test("If-None-Match and If-Modified-Since give 304 for an unchanged file, 200 for an old date")
    func conditionalRequests() async throws {
        let (root, _) = try Self.servedDirectory()
        try await LoopbackHTTPServer.withServer(serving: root, lifetime: .seconds(30)) { server in
            let first = try await RawHTTPClient.exchange(
                port: server.port, RawHTTPClient.request("GET", "/hello.txt", port: server.port))
            let response = try #require(first.responses().first)
            let etag = try #require(response.headers["etag"])
            let lastModified = try #require(response.headers["last-modified"])

            let byTag = try await RawHTTPClient.exchange(
                port: server.port,
                RawHTTPClient.request("GET", "/hello.txt", port: server.port, headers: ["If-None-Match": etag]))
            #expect(byTag.responses().first?.status == 304)
            #expect(byTag.responses().first?.body == [])
            let byDate = try await RawHTTPClient.exchange(
                port: server.port,
                RawHTTPClient.request(
                    "GET", "/hello.txt", port: server.port, headers: ["If-Modified-Since": lastModified]))
            #expect(byDate.responses().first?.status == 304)
            let oldDate = try await RawHTTPClient.exchange(
                port: server.port,
                RawHTTPClient.request(
                    "GET", "/hello.txt", port: server.port,
                    headers: ["If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"]))
            #expect(oldDate.responses().first?.status == 200)
            #expect(server.requests.map(\.status) == [200, 304, 304, 200])
            #expect(server.requests[1].headers["if-none-match"] == etag)
        }
    }

    @Test("URLSession's conditional GET sees a 304")
    func urlSessionConditional() async throws {
        let (root, _) = try Self.servedDirectory()
        try await LoopbackHTTPServer.withServer(serving: root, lifetime: .seconds(30)) { server in
            let url = try #require(URL(string: server.baseURL + "hello.txt"))
            let session = URLSession(configuration: .ephemeral)
            let (body, first) = try await session.data(from: url)
            #expect(String(decoding: body, as: UTF8.self) == "hello\n")
            let etag = try #require((first as? HTTPURLResponse)?.value(forHTTPHeaderField: "ETag"))
            var request = URLRequest(url: url)
            request.setValue(etag, forHTTPHeaderField: "If-None-Match")
            let (_, second) = try await session.data(for: request)
            #expect((second as? HTTPURLResponse)?.statusCode == 304)
        }
    }

    @Test("keep-alive: two pipelined requests on one connection, which stays open without Connection: close")
    func keepAlive() async throws {
        let (root, _) = try Self.servedDirectory()
        try await LoopbackHTTPServer.withServer(serving: root, lifetime: .seconds(30)) { server in
            let twice =
                RawHTTPClient.request("GET", "/hello.txt", port: server.port, keepAlive: true)
                + RawHTTPClient.request("GET", "/hello.txt", port: server.port, keepAlive: true)
            let exchange = try await RawHTTPClient.exchange(port: server.port, twice, idleTimeout: .milliseconds(500))
            #expect(exchange.responses().map(\.status) == [200, 200])
            #expect(exchange.responses().map(\.body) == [Array("hello\n".utf8), Array("hello\n".utf8)])
            #expect(!exchange.closedByServer)
            #expect(server.requestCount(path: "/hello.txt") == 2)
        }
    }

    @Test("paths with '..' are refused, also percent-encoded, and nothing outside the root is served")
    func refusesDotDot() async throws {
        let (root, _) = try Self.servedDirectory()
        let secret = (root as NSString).deletingLastPathComponent + "/strata-secret-\(UUID().uuidString)"
        try Data("secret".utf8).write(to: URL(fileURLWithPath: secret))
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let name = (secret as NSString).lastPathComponent
        try await LoopbackHTTPServer.withServer(serving: root, lifetime: .seconds(30)) { server in
            for target in ["/../\(name)", "/dists/../../\(name)", "/%2e%2e/\(name)", "/dists/%2E%2E/%2e%2e/\(name)"] {
                let exchange = try await RawHTTPClient.exchange(
                    port: server.port, RawHTTPClient.request("GET", target, port: server.port))
                let response = try #require(exchange.responses().first)
                #expect(response.status == 403, "\(target)")
                #expect(!response.body.contains(Array("secret".utf8)), "\(target)")
            }
        }
    }

    @Test("fault injection: status, truncation after N bytes, replaced body, delay; clearing restores the file")
    func faults() async throws {
        let (root, release) = try Self.servedDirectory()
        try await LoopbackHTTPServer.withServer(serving: root, lifetime: .seconds(30)) { server in
            let path = "/dists/stable/Release"
            let get = RawHTTPClient.request("GET", path, port: server.port)

            server.setFault(.status(503), for: path)
            #expect(try await RawHTTPClient.exchange(port: server.port, get).responses().first?.status == 503)

            server.setFault(.truncate(after: 1000), for: path)
            let truncated = try await RawHTTPClient.exchange(
                port: server.port, RawHTTPClient.request("GET", path, port: server.port, keepAlive: true))
            let cut = try #require(truncated.responses().first)
            #expect(cut.status == 200)
            #expect(cut.announcedLength == release.count)
            #expect(cut.body == Array(release.prefix(1000)))
            #expect(cut.isTruncated)
            #expect(truncated.closedByServer)

            server.setFault(.replaceBody(with: Array("tampered\n".utf8)), for: path)
            let tampered = try #require(try await RawHTTPClient.exchange(port: server.port, get).responses().first)
            #expect(tampered.body == Array("tampered\n".utf8))
            #expect(tampered.announcedLength == 9)

            server.setFault(.delay(.milliseconds(600)), for: path)
            let clock = ContinuousClock()
            let start = clock.now
            let delayed = try await RawHTTPClient.exchange(port: server.port, get)
            #expect(clock.now - start >= .milliseconds(600))
            #expect(delayed.responses().first?.body == release)

            server.removeAllFaults()
            #expect(try await RawHTTPClient.exchange(port: server.port, get).responses().first?.body == release)
            #expect(server.requestCount(path: path) == 5)
            #expect(server.requests.map(\.status) == [503, 200, 200, 200, 200])
            server.resetRequests()
            #expect(server.requests.isEmpty)
        }
    }

    @Test("a truncated body fails a URLSession download")
    func urlSessionSeesTruncation() async throws {
        let (root, _) = try Self.servedDirectory()
        try await LoopbackHTTPServer.withServer(serving: root, lifetime: .seconds(30)) { server in
            server.setFault(.truncate(after: 100), for: "/dists/stable/Release")
            let url = try #require(URL(string: server.baseURL + "dists/stable/Release"))
            let session = URLSession(configuration: .ephemeral)
            do {
                let (body, _) = try await session.data(from: url)
                Issue.record("expected a network error, got \(body.count) bytes")
            } catch {
                // URLError.networkConnectionLost or similar: the body never completed.
            }
        }
    }

    @Test("the server stops on its own when its lifetime ends, and shutdown is idempotent")
    func lifetime() async throws {
        let (root, _) = try Self.servedDirectory()
        let server = try await LoopbackHTTPServer.start(serving: root, lifetime: .milliseconds(300))
        let port = server.port
        #expect(
            try await RawHTTPClient.exchange(port: port, RawHTTPClient.request("GET", "/hello.txt", port: port))
                .responses().first?.status == 200)
        try await Task.sleep(for: .seconds(1))
        #expect(server.isStopped)
        await #expect(throws: StrataError.self) {
            try await RawHTTPClient.exchange(port: port, RawHTTPClient.request("GET", "/hello.txt", port: port))
        }
        await server.shutdown()
        await server.shutdown()
    }
}
