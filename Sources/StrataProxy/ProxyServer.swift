// The listening server: one NIO event loop per core, each with its own LoopLocal; the cache lock
// (one server per cache directory); the housekeeping timers; graceful shutdown.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import StrataCore
import StrataStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public final class ProxyServer: Sendable {
    public let service: ProxyService
    /// The bound port (useful when the configuration asked for port 0).
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let lockDescriptor: Int32
    private let loopLocals: LoopLocals
    private let housekeeping = Mutex<[RepeatedTask]>([])
    private let stopped = Mutex(false)

    private init(
        service: ProxyService, port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel,
        lockDescriptor: Int32, loopLocals: LoopLocals
    ) {
        self.loopLocals = loopLocals
        self.service = service
        self.port = port
        self.group = group
        self.channel = channel
        self.lockDescriptor = lockDescriptor
    }

    /// `cannot listen on 127.0.0.1:3142: Address already in use (…)`, in words rather than NIO's
    /// `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
    static func listenFailure(_ address: String, _ error: any Error) -> StrataError {
        guard let error = error as? IOError else {
            return StrataError(.network, "cannot listen on \(address): \(StrataError(describing: error).message)")
        }
        let reason = StrataError.reason(errno: error.errnoCode)
        let hint =
            switch error.errnoCode {
            case EADDRINUSE: " (another program, perhaps another strata proxy, listens there; choose another with --listen)"
            case EACCES: " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
            case EADDRNOTAVAIL: " (no interface of this host has that address)"
            default: ""
            }
        return StrataError(.network, "cannot listen on \(address): \(reason)\(hint)")
    }

    /// Locks the cache, loads it, binds and starts serving.
    /// - Throws: ``StrataError`` `.invalidInput` when another proxy holds the cache, `.network`
    ///   when the address cannot be bound, `.io` when the cache cannot be opened.
    public static func start(configuration: ProxyConfiguration) async throws -> ProxyServer {
        guard !configuration.backends.isEmpty else {
            throw StrataError(
                .invalidInput,
                "no upstream configured: give --backend NAME=URL, a config file with backends:, or configure apt sources on this host")
        }
        try FileSystem.makeDirectories("\(configuration.cacheDirectory)/proxy")
        let lockPath = "\(configuration.cacheDirectory)/proxy/lock"
        let lockDescriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockDescriptor >= 0 else {
            throw StrataError(.io, "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(lockDescriptor)
            throw StrataError(
                .invalidInput, "another strata proxy is serving \(configuration.cacheDirectory) (\(lockPath) is locked)")
        }
        let service: ProxyService
        do {
            service = try ProxyService(configuration: configuration)
        } catch {
            close(lockDescriptor)
            throw error
        }
        // Only the lock holder writes tmp/, so whatever is there was left by a killed process.
        let leftovers = service.cache.removeLeftoverTemporaries()
        if leftovers > 0 { Log.proxy.info("removed \(leftovers) partial download(s) left by an earlier run") }
        service.loadCatalog()

        ConnectionLimits.raiseDescriptorLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoops))
        var locals: [ObjectIdentifier: LoopLocal] = [:]
        for loop in group.makeIterator() { locals[ObjectIdentifier(loop)] = LoopLocal() }
        let loopLocals = LoopLocals(locals)
        let idleTimeout = TimeAmount.seconds(max(1, configuration.clientIdleTimeout.components.seconds))
        let limits = ConnectionLimits(configuration)
        let stalled = Int(clamping: configuration.stalledClientTimeout.components.seconds * 1000)
        let bootstrap = ServerBootstrap(group: group)
            // A burst of connections queues (the kernel caps this at net.core.somaxconn, 4096 by default).
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that stops reading (a zero window, or no ACKs) is dropped by the kernel.
            .childChannelOption(ChannelOptions.Types.SocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_USER_TIMEOUT)), value: stalled)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let local = loopLocals.byLoop[ObjectIdentifier(channel.eventLoop)] else {
                        throw StrataError.internalError("no loop-local state for an event loop")
                    }
                    let sync = channel.pipeline.syncOperations
                    let arrival = ArrivalWatch()
                    try sync.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try sync.addHandler(arrival)
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try sync.addHandler(
                        ProxyConnectionHandler(service: service, local: local, limits: limits, arrival: arrival))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.listenHost, port: configuration.listenPort).get()
        } catch {
            try? await group.shutdownGracefully()
            await service.shutdown()
            close(lockDescriptor)
            throw listenFailure(configuration.listenAddress, error)
        }
        let server = ProxyServer(
            service: service, port: channel.localAddress?.port ?? configuration.listenPort, group: group,
            channel: channel, lockDescriptor: lockDescriptor, loopLocals: loopLocals)
        server.startHousekeeping()
        if let log = service.accessLog {
            let flushes = group.makeIterator().map { loop in
                loop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .seconds(1)) { _ in
                    loopLocals.byLoop[ObjectIdentifier(loop)]?.flushLog(to: log)
                }
            }
            server.housekeeping.withLock { $0 += flushes }
        }
        return server
    }

    private func startHousekeeping() {
        let loop = group.next()
        var tasks: [RepeatedTask] = []
        let service = self.service
        tasks.append(
            loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                service.accessLog?.flush()
            })
        tasks.append(
            loop.scheduleRepeatedTask(initialDelay: .seconds(60), delay: .seconds(60)) { _ in
                DispatchQueue.global().async { service.cache.flushUse() }
            })
        if let interval = service.configuration.cleanInterval {
            let seconds = interval.components.seconds
            tasks.append(
                loop.scheduleRepeatedTask(initialDelay: .seconds(seconds), delay: .seconds(seconds)) { _ in
                    DispatchQueue.global().async {
                        do {
                            let report = try ProxyCleaner(cache: service.cache, configuration: service.configuration).clean()
                            Log.proxy.info("cleanup: \(report.summary)")
                        } catch {
                            Log.proxy.error("cleanup failed: \(error)")
                        }
                    }
                })
        }
        housekeeping.withLock { $0 = tasks }
    }

    /// Stops accepting, lets running responses finish for up to `grace`, then closes everything.
    public func shutdown(grace: Duration = .seconds(10)) async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        for task in housekeeping.withLock({ $0 }) { task.cancel() }
        try? await channel.close()
        let deadline = ContinuousClock.now + grace
        while service.metrics.inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        if let log = service.accessLog {
            for loop in group.makeIterator() {
                let locals = loopLocals
                try? await loop.submit { locals.byLoop[ObjectIdentifier(loop)]?.flushLog(to: log) }.get()
            }
        }
        try? await group.shutdownGracefully()
        await service.shutdown()
        close(lockDescriptor)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    public func runUntilSignalled() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let received = AsyncStream<Int32> { continuation in
            let sources = SignalSources(
                [SIGINT, SIGTERM].map { number in
                    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                    source.setEventHandler { continuation.yield(number) }
                    source.resume()
                    return source
                })
            continuation.onTermination = { _ in sources.sources.forEach { $0.cancel() } }
        }
        for await number in received {
            Log.proxy.info("signal \(number == SIGINT ? "SIGINT" : "SIGTERM"): finishing running transfers and stopping")
            break
        }
        await shutdown()
    }
}

/// The per-loop state by event loop; each value is used only on its own loop's thread.
final class LoopLocals: @unchecked Sendable {
    let byLoop: [ObjectIdentifier: LoopLocal]
    init(_ byLoop: [ObjectIdentifier: LoopLocal]) { self.byLoop = byLoop }
}

/// Dispatch signal sources, cancelled from the stream's termination handler.
private final class SignalSources: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
}

/// What bounds one client connection: how long its request may take to arrive, and how many
/// connections may be open at once so that descriptors remain for cached files and upstreams.
struct ConnectionLimits: Sendable {
    var requestTimeout: TimeAmount
    var maxConnections: Int
    var revalidationWait: TimeAmount

    init(_ configuration: ProxyConfiguration) {
        requestTimeout = .milliseconds(max(100, Int64(configuration.requestTimeout.seconds * 1000)))
        revalidationWait = .milliseconds(max(10, Int64(configuration.revalidationWait.seconds * 1000)))
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let available = limit.rlim_cur >= rlim_t(1 << 20) ? 1 << 20 : Int(limit.rlim_cur)
        maxConnections = configuration.maxConnections ?? max(16, available - configuration.descriptorReserve)
    }

    /// The soft descriptor limit raised to the hard one (a proxy is a server of many connections).
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
