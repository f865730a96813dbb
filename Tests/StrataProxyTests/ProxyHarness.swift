import Foundation
import StrataCore
@testable import StrataProxy
import StrataStore
import StrataTestSupport
import Synchronization

/// A proxy in this process on a kernel-chosen loopback port, with its own cache directory.
struct ProxyHarness {
    let server: ProxyServer
    let cache: String
    var port: Int { server.port }
    var url: String { "http://127.0.0.1:\(server.port)" }

    static func start(
        backends: [String], cache: String? = nil, indexTTL: Duration = .seconds(60),
        configure: (inout ProxyConfiguration) -> Void = { _ in }
    ) async throws -> ProxyHarness {
        var configuration = ProxyConfiguration()
        configuration.listenPort = 0
        configuration.cacheDirectory = try cache ?? TemporaryDirectory.make(prefix: "proxycache")
        configuration.accessLog = nil
        configuration.cleanInterval = nil
        configuration.indexTTL = indexTTL
        configuration.eventLoops = 2
        configuration.upstreamTimeout = .seconds(20)
        for backend in backends { try configuration.addBackend(backend) }
        configure(&configuration)
        let server = try await ProxyServer.start(configuration: configuration)
        return ProxyHarness(server: server, cache: configuration.cacheDirectory)
    }

    /// Runs `body` with a proxy and stops the proxy afterwards, also when `body` throws.
    static func with<T: Sendable>(
        backends: [String], cache: String? = nil, indexTTL: Duration = .seconds(60),
        configure: (inout ProxyConfiguration) -> Void = { _ in },
        _ body: (ProxyHarness) async throws -> T
    ) async throws -> T {
        let proxy = try await start(backends: backends, cache: cache, indexTTL: indexTTL, configure: configure)
        do {
            let result = try await body(proxy)
            await proxy.server.shutdown(grace: .seconds(2))
            return result
        } catch {
            await proxy.server.shutdown(grace: .seconds(2))
            throw error
        }
    }

    /// `GET`s `target` (a path on the proxy, or an absolute URL sent as to a forward proxy).
    func get(_ target: String, headers: [String: String] = [:], method: String = "GET") async throws
        -> RawHTTPResponse
    {
        let exchange = try await RawHTTPClient.exchange(
            port: port, RawHTTPClient.request(method, target, port: port, headers: headers), idleTimeout: .seconds(15))
        guard let response = exchange.responses(headRequests: method == "HEAD" ? 1 : 0).first else {
            throw StrataError(.network, "\(target): no response (\(exchange.bytes.count) bytes, then the connection closed)")
        }
        return response
    }

    /// Waits until no upstream transfer runs (clients get their last byte before the file is
    /// flushed and recorded, so a response's end is not yet the cache's).
    func settle() async {
        let deadline = ContinuousClock.now + .seconds(20)
        while server.service.metrics.inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// What would show a partial or unverified file once transfers have settled: files in tmp/
    /// and blobs whose content does not match their name (both empty when the cache is consistent).
    func leftovers() async throws -> (temporaries: [String], badBlobs: [SHA256Digest]) {
        await settle()
        let temporaries = (try? FileManager.default.contentsOfDirectory(atPath: "\(cache)/tmp")) ?? []
        let bad = try BlobStore(root: cache).verifyAll()
        return (temporaries, bad)
    }
}

/// Random bytes (deterministic per seed) for fake package files.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out[index] = UInt8(truncatingIfNeeded: state)
    }
    return out
}

/// A directory served as an upstream: a fake archive with a few package files of given sizes.
func makeUpstreamTree(files: [String: Int]) throws -> String {
    let root = try TemporaryDirectory.make(prefix: "upstream")
    for (path, size) in files {
        let full = "\(root)/\(path)"
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(pseudoRandomBytes(size, seed: UInt64(path.utf8.count * 7919 + size))).write(
            to: URL(fileURLWithPath: full))
    }
    return root
}

/// Waits (without blocking a thread: `Process.waitUntilExit()` spins off the main thread) until
/// `process` has exited; SIGKILLs it after `timeout`.
func waitForExit(_ process: Process, timeout: Duration = .seconds(20)) async {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
    }
}

/// `argv` run through perl with an empty signal mask. Foundation's Process starts children with
/// the signal mask of the thread that launched them, and Dispatch's worker threads block most
/// signals: a `timeout` started from a test could then never fire, and SIGTERM never arrive.
func withUnblockedSignals(_ argv: [String]) -> (executable: String, arguments: [String]) {
    (
        "/usr/bin/perl",
        ["-MPOSIX", "-e", "sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec {$ARGV[0]} @ARGV or die", "--"]
            + argv
    )
}
