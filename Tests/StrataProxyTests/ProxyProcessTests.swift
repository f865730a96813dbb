// The real `strata proxy` process: killed with SIGKILL mid-download and restarted on the same
// cache; stopped with SIGTERM; `strata proxy clean` on a cache whose index moved on.
import Foundation
import StrataCore
import StrataStore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite("The strata proxy process", .serialized, .timeLimit(.minutes(3)))
struct ProxyProcessTests {
    static var executable: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/strata").path
    }

    /// Starts `strata proxy` on a kernel-chosen port and returns it (the `timeout` process around
    /// it) with its port (read from its first line on stderr).
    static func launch(cache: String, backend: String) throws -> (Process, Int, Pipe) {
        // Under timeout(1): a proxy this test forgets (or outlives) stops by itself.
        let command = withUnblockedSignals([
            "/usr/bin/timeout", "120", executable, "proxy", "--listen", "127.0.0.1:0", "--cache", cache, "--backend",
            backend, "--access-log", "\(cache)/access.log",
        ])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let range = seen.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let port = Int(seen[range].split(separator: ":").last!)!
                return (process, port, errors)
            }
        }
        process.terminate()
        throw StrataError(.toolFailed, "strata proxy did not start: \(seen)")
    }

    @Test("SIGKILL mid-download leaves no partial file; the restarted proxy serves the file whole")
    func killedMidDownload() async throws {
        let big = "pool/main/b/big/big_1.0_amd64.deb"
        let tree = try makeUpstreamTree(files: [big: 2 * 1024 * 1024])
        let expected = try Data(contentsOf: URL(fileURLWithPath: "\(tree)/\(big)"))
        let cache = try TemporaryDirectory.make(prefix: "killedproxy")
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            upstream.setFault(.throttle(16 * 1024, every: .milliseconds(100)), for: "/\(big)")
            let (process, port, _) = try Self.launch(cache: cache, backend: "up=\(upstream.baseURL)")
            // A client starts the download; the proxy dies a moment later.
            async let client = RawHTTPClient.exchange(
                port: port, RawHTTPClient.request("GET", "/up/\(big)", port: port), idleTimeout: .seconds(5))
            // Killed once the download is under way in tmp/ (the throttle makes it take 13 s, so a
            // loaded machine whose tasks run late still finds it there); polled, not slept for.
            var partial = [String]()
            for _ in 0..<200 where partial.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                partial = (try? FileManager.default.contentsOfDirectory(atPath: "\(cache)/tmp")) ?? []
            }
            #expect(!partial.isEmpty, "the download should be under way in tmp/")
            // SIGKILL the proxy itself (timeout's child), not the timeout process.
            let children = try String(
                contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children",
                encoding: .utf8)
            let proxyPID = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
            kill(proxyPID, SIGKILL)
            await waitForExit(process)
            let cut = try await client.responses().first
            #expect(cut == nil || cut!.isTruncated)

            upstream.setFault(nil, for: "/\(big)")
            let (restarted, newPort, _) = try Self.launch(cache: cache, backend: "up=\(upstream.baseURL)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(cache)/tmp").isEmpty)
            let exchange = try await RawHTTPClient.exchange(
                port: newPort, RawHTTPClient.request("GET", "/up/\(big)", port: newPort), idleTimeout: .seconds(10))
            restarted.terminate()
            await waitForExit(restarted)
            let response = try #require(exchange.responses().first)
            #expect(response.status == 200 && Data(response.body) == expected)
            #expect(try BlobStore(root: cache).verifyAll().isEmpty)
        }
    }

    @Test("SIGTERM stops the proxy gracefully and the access log has the requests")
    func sigtermStops() async throws {
        let tree = try makeUpstreamTree(files: ["pool/x.deb": 1000])
        let cache = try TemporaryDirectory.make(prefix: "termproxy")
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            let (process, port, errors) = try Self.launch(cache: cache, backend: "up=\(upstream.baseURL)")
            let exchange = try await RawHTTPClient.exchange(
                port: port, RawHTTPClient.request("GET", "/up/pool/x.deb", port: port), idleTimeout: .seconds(5))
            #expect(exchange.responses().first?.status == 200)
            process.terminate()
            await waitForExit(process)
            #expect(process.terminationStatus == 0)
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(said.contains("stopped"))
            let log = try String(contentsOfFile: "\(cache)/access.log", encoding: .utf8)
            #expect(log.contains("\"GET /up/pool/x.deb\" 200 1000 MISS"), "\(log)")
        }
    }

    @Test("clean removes packages no cached index names after the grace period, and trims to a size")
    func cleanRemovesUnreferenced() async throws {
        let repo = try await DebFixtureRepo.standard()
        let cache = try TemporaryDirectory.make(prefix: "cleanproxy")
        let named = try #require(repo.package("editor-nano"))
        let extraTree = try makeUpstreamTree(files: ["pool/main/o/orphan/orphan_1_amd64.deb": 5000])
        try await LoopbackHTTPServer.withServer(serving: repo.root) { upstream in
            try await LoopbackHTTPServer.withServer(serving: extraTree) { other in
                try await ProxyHarness.with(
                    backends: ["fixture=\(upstream.baseURL)", "other=\(other.baseURL)"], cache: cache
                ) { proxy in
                    for target in [
                        "/fixture/dists/stable/InRelease", "/fixture/dists/stable/main/binary-amd64/Packages.xz",
                        "/fixture/\(named.path)", "/other/pool/main/o/orphan/orphan_1_amd64.deb",
                    ] {
                        #expect(try await proxy.get(target).status == 200, "\(target)")
                    }
                    await proxy.settle()
                    let service = proxy.server.service
                    let orphanBlob = try #require(service.cache.entry("other/pool/main/o/orphan/orphan_1_amd64.deb"))
                    var configuration = service.configuration
                    configuration.grace = .seconds(3600)
                    let cleaner = ProxyCleaner(cache: service.cache, configuration: configuration)
                    // Within the grace period nothing goes.
                    #expect(try cleaner.clean().unreferencedRemoved == 0)
                    let later = Date().timeIntervalSince1970 + 7200
                    let report = try cleaner.clean(now: later)
                    #expect(report.unreferencedRemoved == 2 + 1, "\(report)")  // two unused indexes, one orphan
                    #expect(service.cache.entry("fixture/\(named.path)") != nil, "a named package was removed")
                    #expect(service.cache.entry("other/pool/main/o/orphan/orphan_1_amd64.deb") == nil)
                    #expect(!FileManager.default.fileExists(atPath: service.cache.blobs.path(of: orphanBlob.sha256)))

                    // A size limit trims what is left, least recently used first.
                    configuration.maxSize = 1
                    // (now: within the grace period, so only the size limit removes anything)
                    let trimmed = try ProxyCleaner(cache: service.cache, configuration: configuration).clean()
                    #expect(trimmed.trimmedRemoved == 1 && trimmed.entriesKept == 0)
                    // Trimmed records are misses: fetched again.
                    let again = try await proxy.get("/fixture/\(named.path)")
                    #expect(again.status == 200 && again.headers["x-strata-cache"] == "MISS")
                }
            }
        }
    }
}
