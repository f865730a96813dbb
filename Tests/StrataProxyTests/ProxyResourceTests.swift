// Issue 11, item 4: descriptors and time are bounded under hostile clients. Raw sockets on
// loopback play slowloris (a head a byte at a time), a body announced and never sent, a client
// that never reads its response, and a pile of idle connections past the limit; each loop is
// bounded in time, and a normal client is served throughout.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataProxy

#if canImport(Glibc)
    import Glibc
#endif

/// A client socket for misbehaving on purpose.
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw StrataError(.network, "connect: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Sends `text`; false once the peer has closed.
    @discardableResult
    func send(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == text.utf8.count
    }

    /// Whether the peer has closed the connection (reads and drops what is there, without waiting).
    func peerClosed() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count == 0 { return true }
            if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }

    /// Makes the receive buffer small, so that an unread response fills it soon.
    func shrinkReceiveBuffer() {
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
}

@Suite("Proxy descriptors and time under hostile clients", .timeLimit(.minutes(2)))
struct ProxyResourceTests {
    static func until(_ limit: Duration, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test("slowloris heads and a body that never comes are closed after the request timeout; others are served")
    func slowRequests() async throws {
        let tree = try makeUpstreamTree(files: ["pool/x.deb": 1000])
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(
                backends: ["up=\(upstream.baseURL)"], configure: { $0.requestTimeout = .seconds(1) }
            ) { proxy in
                let slow = try (0..<40).map { _ in try RawSocket(port: proxy.port) }
                for socket in slow { socket.send("GET /up/pool/x.deb HTTP/1.1\r\nHost: x\r\nX-Slow: ") }
                let body = try RawSocket(port: proxy.port)
                body.send("GET /up/pool/x.deb HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
                // A byte every 100 ms from each, for up to 8 s (margin for a loaded machine): all
                // must be closed meanwhile.
                var closed = 0
                let start = ContinuousClock.now
                while ContinuousClock.now - start < .seconds(8) {
                    closed = slow.filter { !$0.send("a") || $0.peerClosed() }.count
                    if closed == slow.count { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(closed == slow.count, "\(slow.count - closed) of \(slow.count) slowloris connections still held")
                #expect(try await Self.until(.seconds(6)) { body.peerClosed() }, "a body announced and never sent held its connection")
                let good = try await proxy.get("/up/pool/x.deb")
                #expect(good.status == 200 && good.body.count == 1000)
                // An idle kept-alive connection is not a slow request: it stays past the request timeout.
                let idle = try RawSocket(port: proxy.port)
                try await Task.sleep(for: .seconds(2))
                #expect(!idle.peerClosed(), "an idle connection was closed by the request timeout")
            }
        }
    }

    @Test("a client that never reads its response is dropped by the kernel's user timeout")
    func stalledReader() async throws {
        let tree = try makeUpstreamTree(files: ["pool/big.deb": 24 << 20])
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(
                backends: ["up=\(upstream.baseURL)"], configure: { $0.stalledClientTimeout = .seconds(2) }
            ) { proxy in
                #expect(try await proxy.get("/up/pool/big.deb").body.count == 24 << 20)
                await proxy.settle()
                let metrics = proxy.server.service.metrics
                // Cumulative counters and the gauge's end state, nothing transient to catch: the
                // fetch's own connection is gone, the reader's request arrived, then its connection went.
                #expect(try await Self.until(.seconds(10)) { metrics.connections.load(ordering: .relaxed) == 0 })
                let requestsBefore = metrics.value(.requests)
                let reader = try RawSocket(port: proxy.port)
                reader.shrinkReceiveBuffer()
                reader.send("GET /up/pool/big.deb HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await Self.until(.seconds(10)) { metrics.value(.requests) > requestsBefore })
                // It never reads: the proxy lets go of it within the timeout and a few probes.
                let dropped = try await Self.until(.seconds(40)) { metrics.connections.load(ordering: .relaxed) == 0 }
                #expect(dropped, "a client that stopped reading still holds its connection")
                withExtendedLifetime(reader) {}
                #expect(try await proxy.get("/up/pool/big.deb").status == 200)
            }
        }
    }

    @Test("past the connection limit a new connection is closed at once, and hits work again when they go")
    func connectionLimit() async throws {
        let tree = try makeUpstreamTree(files: ["pool/x.deb": 1000])
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(backends: ["up=\(upstream.baseURL)"], configure: { $0.maxConnections = 8 }) { proxy in
                #expect(try await proxy.get("/up/pool/x.deb").status == 200)
                await proxy.settle()
                var idle = try (0..<8).map { _ in try RawSocket(port: proxy.port) }
                let metrics = proxy.server.service.metrics
                #expect(try await Self.until(.seconds(3)) { metrics.connections.load(ordering: .relaxed) >= 8 })
                let extra = try RawSocket(port: proxy.port)
                #expect(try await Self.until(.seconds(3)) { extra.peerClosed() }, "a connection past the limit was kept")
                #expect(idle.allSatisfy { !$0.peerClosed() }, "the connections within the limit were kept")
                idle.removeAll()
                #expect(try await Self.until(.seconds(3)) { metrics.connections.load(ordering: .relaxed) == 0 })
                #expect(try await proxy.get("/up/pool/x.deb").status == 200)
            }
        }
    }
}
