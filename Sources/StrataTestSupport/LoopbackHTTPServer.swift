// A small HTTP/1.1 file server on 127.0.0.1 for fake upstream repositories: GET and HEAD,
// keep-alive, Last-Modified/ETag with conditional requests, a request log, per-path fault
// injection, and a hard lifetime so that a forgotten server cannot outlive its test for long.
// Files are read on the event loop with blocking calls: fixture files are small.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import StrataCore
import Synchronization

/// Serves a directory over HTTP on a loopback port chosen by the kernel.
public final class LoopbackHTTPServer: Sendable {
    /// The directory served; `/x` maps to `<root>/x`.
    public let root: String
    /// The bound port.
    public let port: Int
    /// `http://127.0.0.1:<port>/`.
    public var baseURL: String { "http://127.0.0.1:\(port)/" }

    private let lifecycle: Lifecycle
    private let state: LoopbackServerState

    private init(root: String, port: Int, lifecycle: Lifecycle, state: LoopbackServerState) {
        self.root = root
        self.port = port
        self.lifecycle = lifecycle
        self.state = state
    }

    /// Starts serving `root`.
    ///
    /// - Parameters:
    ///   - root: the directory to serve.
    ///   - lifetime: the server shuts itself down after this long even if nobody calls ``shutdown()``.
    /// - Returns: the running server.
    /// - Throws: ``StrataError`` `.notFound` when `root` is not a directory, `.network` when binding fails.
    public static func start(serving root: String, lifetime: Duration = .seconds(300)) async throws
        -> LoopbackHTTPServer
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StrataError(.notFound, "cannot serve '\(root)': not a directory")
        }
        let canonicalRoot = URL(fileURLWithPath: root).standardizedFileURL.path
        let state = LoopbackServerState(root: canonicalRoot)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(LoopbackFileHandler(state: state))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        } catch {
            try? await group.shutdownGracefully()
            throw StrataError(.network, "cannot bind 127.0.0.1:0: \(error)")
        }
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            try? await group.shutdownGracefully()
            throw StrataError.internalError("bound server channel has no port")
        }
        let lifecycle = Lifecycle(group: group, channel: channel)
        let task = Task.detached {
            try? await Task.sleep(for: lifetime)
            guard !Task.isCancelled else { return }
            await lifecycle.stop()
        }
        lifecycle.lifetimeTask.withLock { $0 = task }
        return LoopbackHTTPServer(root: canonicalRoot, port: port, lifecycle: lifecycle, state: state)
    }

    /// Stops accepting, closes every connection and stops the event loop. Safe to call twice.
    public func shutdown() async { await lifecycle.stop() }

    /// Whether the server has shut down (by ``shutdown()`` or its lifetime).
    public var isStopped: Bool { lifecycle.stopped.withLock { $0 } }

    /// Every request answered since start or the last ``resetRequests()``, oldest first.
    public var requests: [RecordedRequest] { state.requests }

    /// How many requests for `path` (method ignored) are in the log.
    public func requestCount(path: String) -> Int { state.requests.filter { $0.path == path }.count }

    /// Empties the request log.
    public func resetRequests() { state.resetRequests() }

    /// Sets (or with `nil` removes) the fault for requests to `path` (`/dists/stable/InRelease`).
    public func setFault(_ fault: HTTPFault?, for path: String) { state.setFault(fault, for: path) }

    /// Removes every fault.
    public func removeAllFaults() { state.removeAllFaults() }

    deinit {
        // A server dropped without shutdown() stops now rather than at the end of its lifetime.
        let lifecycle = self.lifecycle
        if !lifecycle.stopped.withLock({ $0 }) { Task.detached { await lifecycle.stop() } }
    }
}

/// The event loop, the listening channel and the lifetime timer; shared by the server object and
/// the timer so that either can stop the server, once.
private final class Lifecycle: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    let lifetimeTask = Mutex<Task<Void, Never>?>(nil)
    let stopped = Mutex(false)

    init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
    }

    func stop() async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        let timer = lifetimeTask.withLock { task in
            defer { task = nil }
            return task
        }
        timer?.cancel()
        try? await channel.close()
        // Closes every open connection too.
        try? await group.shutdownGracefully()
    }
}

/// What the connection handlers share with the server object.
final class LoopbackServerState: Sendable {
    let root: String
    private let log = Mutex<[RecordedRequest]>([])
    private let faults = Mutex<[String: HTTPFault]>([:])

    init(root: String) { self.root = root }

    var requests: [RecordedRequest] { log.withLock { $0 } }
    func record(_ request: RecordedRequest) { log.withLock { $0.append(request) } }
    func resetRequests() { log.withLock { $0.removeAll() } }
    func fault(for path: String) -> HTTPFault? { faults.withLock { $0[path] } }
    func setFault(_ fault: HTTPFault?, for path: String) { faults.withLock { $0[path] = fault } }
    func removeAllFaults() { faults.withLock { $0.removeAll() } }
}

extension LoopbackHTTPServer {
    /// Runs `body` with a server for `root` and shuts the server down afterwards, also when
    /// `body` throws.
    ///
    /// - Parameters:
    ///   - root: the directory to serve.
    ///   - lifetime: the hard lifetime (see ``start(serving:lifetime:)``), a backstop only: the
    ///     server stops when `body` returns. Twenty minutes, as a whole `make test` may take: a
    ///     build test that waits its turn in a full parallel run took over 300 s (the old limit)
    ///     and found its server gone ("refused the connection").
    ///   - body: the test code.
    /// - Returns: what `body` returns.
    /// - Throws: what `start` or `body` throw.
    public static func withServer<T: Sendable>(
        serving root: String, lifetime: Duration = .seconds(1200),
        _ body: (LoopbackHTTPServer) async throws -> T
    ) async throws -> T {
        let server = try await start(serving: root, lifetime: lifetime)
        do {
            let result = try await body(server)
            await server.shutdown()
            return result
        } catch {
            await server.shutdown()
            throw error
        }
    }
}
