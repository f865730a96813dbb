// Issue 11: a soak under hostile load, bounded in time. 2,000 idle connections and 200 slowloris
// connections (a header byte every 250 ms) while a normal client fetches cached files one after
// another: every normal request must succeed, the slowloris connections must be closed by the
// request timeout, and the normal client's latency, the process's RSS and its descriptors are
// printed (the proxy runs in this test process: both include the test's own sockets). Latency is
// printed, not checked: a unit test on a loaded machine is no place for a time limit.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataProxy

#if canImport(Glibc)
    import Glibc
#endif

/// Run on its own (`make test` does, after the suite, with STRATA_SOAK=1): its 4,400 descriptors
/// and thousands of short connections beside the parallel suite were followed, twice, by other
/// tests' loopback servers refusing connections.
@Suite(
    "Proxy soak: idle and slowloris connections beside a normal client", .timeLimit(.minutes(2)),
    .enabled(if: ProcessInfo.processInfo.environment["STRATA_SOAK"] == "1", "runs on its own: STRATA_SOAK=1"))
struct ProxySoakTests {
    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }

    static func descriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }

    @Test("2,000 idle and 200 slowloris connections: the normal client is served and the slowloris ones are closed")
    func soak() async throws {
        ConnectionLimits.raiseDescriptorLimit()
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_cur >= 8192, "the descriptor limit (\(limit.rlim_cur)) is too low for this test")
        let tree = try makeUpstreamTree(files: ["pool/small.deb": 10_000, "pool/big.deb": 4 << 20])
        try await LoopbackHTTPServer.withServer(serving: tree) { upstream in
            try await ProxyHarness.with(
                backends: ["up=\(upstream.baseURL)"], configure: { $0.requestTimeout = .seconds(2) }
            ) { proxy in
                #expect(try await proxy.get("/up/pool/small.deb").status == 200)
                #expect(try await proxy.get("/up/pool/big.deb").status == 200)
                await proxy.settle()
                let before = (rss: Self.residentKiB(), fds: Self.descriptors())
                let idle = try (0..<2000).map { _ in try RawSocket(port: proxy.port) }
                let slow = try (0..<200).map { _ in try RawSocket(port: proxy.port) }
                for socket in slow { socket.send("GET /up/pool/small.deb HTTP/1.1\r\nHost: x\r\nX-Slow: ") }
                let stop = ContinuousClock.now + .seconds(6)
                let dripping = Task {
                    while ContinuousClock.now < stop {
                        for socket in slow { socket.send("a") }
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                }
                var latencies: [Duration] = []
                var failures = 0
                var index = 0
                while ContinuousClock.now < stop {
                    let started = ContinuousClock.now
                    let target = index % 4 == 0 ? "/up/pool/big.deb" : "/up/pool/small.deb"
                    let response = try? await proxy.get(target)
                    if response?.status != 200 { failures += 1 }
                    latencies.append(ContinuousClock.now - started)
                    index += 1
                }
                await dripping.value
                let during = (rss: Self.residentKiB(), fds: Self.descriptors())
                let closed = slow.filter { !$0.send("a") || $0.peerClosed() }.count
                let sorted = latencies.sorted()
                let p50 = sorted[sorted.count / 2], p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
                print(
                    "soak: \(latencies.count) normal requests, \(failures) failed; p50 \(p50), p99 \(p99), max \(sorted.last!); "
                        + "slowloris closed \(closed)/\(slow.count); idle open \(idle.filter { !$0.peerClosed() }.count)/\(idle.count); "
                        + "RSS \(before.rss) -> \(during.rss) KiB, descriptors \(before.fds) -> \(during.fds)")
                #expect(failures == 0)
                #expect(closed == slow.count, "slowloris connections held: \(slow.count - closed)")
                #expect(!latencies.isEmpty)
            }
        }
    }
}
