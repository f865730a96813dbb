// HTTPS upstreams: clients speak plain HTTP to the proxy, the proxy speaks TLS upstream and checks
// the certificate. The upstream is `openssl s_server -WWW` with a certificate made for the test
// (an HTTP/1.0 server that sends no Content-Length: the proxy stores the body, then serves it).
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite("HTTPS upstreams", .serialized, .timeLimit(.minutes(2)))
struct ProxyTLSTests {
    /// A port nothing listens on right now (bound and released; the server takes it next).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw StrataError(.network, "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("a https upstream is fetched over TLS, verified against the configured CA")
    func httpsUpstream() async throws {
        let tree = try makeUpstreamTree(files: ["pool/main/t/tls/tls_1.0_amd64.deb": 200_000])
        let expected = try Data(contentsOf: URL(fileURLWithPath: "\(tree)/pool/main/t/tls/tls_1.0_amd64.deb"))
        let keys = try TemporaryDirectory.make(prefix: "tls")
        try await Shell.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "\(keys)/key.pem", "-out", "\(keys)/cert.pem",
            ])
        let port = try Self.freePort()
        let command = withUnblockedSignals([
            "/usr/bin/timeout", "60", "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert",
            "\(keys)/cert.pem", "-key", "\(keys)/key.pem", "-WWW", "-quiet",
        ])
        let server = Process()
        server.executableURL = URL(fileURLWithPath: command.executable)
        server.arguments = command.arguments
        server.currentDirectoryURL = URL(fileURLWithPath: tree)
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        do {
            try await checkThroughProxy(port: port, keys: keys, expected: expected)
        } catch {
            server.terminate()
            await waitForExit(server)
            throw error
        }
        server.terminate()
        await waitForExit(server)
    }

    private func checkThroughProxy(port: Int, keys: String, expected: Data) async throws {
        // Wait until it accepts.
        for _ in 0..<50 {
            if (try? await RawHTTPClient.exchange(port: port, "", idleTimeout: .milliseconds(50))) != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let upstream = "https://127.0.0.1:\(port)/"
        try await ProxyHarness.with(backends: ["tls=\(upstream)"], configure: { $0.upstreamCA = "\(keys)/cert.pem" }) {
            proxy in
            let mapped = try await proxy.get("/tls/pool/main/t/tls/tls_1.0_amd64.deb")
            #expect(mapped.status == 200 && Data(mapped.body) == expected)
            // The forward-proxy form names the same upstream with http:// and its port.
            let forward = try await proxy.get("http://127.0.0.1:\(port)/pool/main/t/tls/tls_1.0_amd64.deb")
            #expect(forward.status == 200 && Data(forward.body) == expected)
            #expect(forward.headers["x-strata-cache"] == "HIT")
        }
        // Without the CA the certificate is not trusted: no bytes are served or stored.
        try await ProxyHarness.with(backends: ["tls=\(upstream)"]) { proxy in
            let refused = try await proxy.get("/tls/pool/main/t/tls/tls_1.0_amd64.deb")
            #expect(refused.status == 502)
            #expect(proxy.server.service.cache.count == 0)
        }
    }
}
