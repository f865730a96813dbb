// One upstream transfer, shared by every client that asks for the same key while it runs.
//
// The transfer writes into a temporary file of the blob store; clients stream from that file
// (each through its own descriptor, a dup of the download's, which survives the rename) as bytes
// arrive. The last byte is held back until the whole body is verified and committed: a transfer
// that fails or does not match its index leaves every client with a short body, which clients
// (apt, dnf, curl) report as an error, and nothing in the cache.
import NIOCore
import NIOHTTP1
import StrataCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How a response to a waiting client goes out.
enum DownloadOutcome: Sendable {
    /// Serve this cache entry (it was confirmed unchanged, is stale, or was stored before the
    /// client could stream).
    case entry(CacheEntry, CacheStatus)
    /// Stream from the running transfer.
    case stream(length: UInt64, headers: [(String, String)])
    /// Answer with this status and reason.
    case failed(HTTPResponseStatus, String)
}

/// What the `X-Strata-Cache` header says.
enum CacheStatus: String, Sendable {
    case hit = "HIT"
    case miss = "MISS"
    case revalidated = "REVALIDATED"
    case stale = "STALE"
}

/// Where a streaming client stands.
struct StreamProgress {
    /// Bytes a client may send now.
    let available: UInt64
    /// `true` once every byte is available (the file is stored).
    let complete: Bool
    /// Set when the transfer failed: the client closes its connection.
    let failure: String?
}

final class Download: Sendable {
    let key: CacheKey

    private struct Waiter {
        let loop: any EventLoop
        let callback: @Sendable () -> Void
    }

    private struct State {
        var outcome: DownloadOutcome?
        var length: UInt64 = 0
        var written: UInt64 = 0
        var complete = false
        var failure: String?
        var readDescriptor: Int32 = -1
        var headWaiters: [Waiter] = []
        var progressWaiters: [Waiter] = []
    }
    private let state = Mutex(State())

    init(key: CacheKey) { self.key = key }

    deinit {
        let fd = state.withLock { $0.readDescriptor }
        if fd >= 0 { close(fd) }
    }

    // MARK: clients

    /// Calls `callback` on `loop` once it is known how this client's response goes out.
    func whenOutcome(on loop: any EventLoop, _ callback: @escaping @Sendable (DownloadOutcome) -> Void) {
        let ready: DownloadOutcome? = state.withLock { state in
            if let outcome = state.outcome { return outcome }
            state.headWaiters.append(Waiter(loop: loop) { [self] in callback(self.currentOutcome()) })
            return nil
        }
        if let ready { loop.execute { callback(ready) } }
    }

    private func currentOutcome() -> DownloadOutcome {
        state.withLock { $0.outcome } ?? .failed(.badGateway, "download ended without an answer")
    }

    /// A descriptor of the file being written, for one streaming client to own; `-1` when the
    /// transfer has already finished or failed (the client then serves the entry or fails).
    func openForReading() -> Int32 {
        state.withLock { state in
            guard state.readDescriptor >= 0, state.failure == nil else { return -1 }
            return dup(state.readDescriptor)
        }
    }

    /// Whether clients were told to stream this transfer (a stale copy can no longer replace it).
    var hasStreamed: Bool {
        state.withLock { state in
            if case .stream = state.outcome { return true }
            return false
        }
    }

    func progress() -> StreamProgress {
        state.withLock { state in
            let available = state.complete ? state.written : min(state.written, state.length &- 1)
            return StreamProgress(available: available, complete: state.complete, failure: state.failure)
        }
    }

    /// Calls `callback` on `loop` once more than `sent` bytes are available, or the transfer ended.
    func whenProgress(beyond sent: UInt64, on loop: any EventLoop, _ callback: @escaping @Sendable () -> Void) {
        let now: Bool = state.withLock { state in
            let available = state.complete ? state.written : min(state.written, state.length &- 1)
            if available > sent || state.complete || state.failure != nil { return true }
            state.progressWaiters.append(Waiter(loop: loop, callback: callback))
            return false
        }
        if now { loop.execute(callback) }
    }

    // MARK: the transfer

    /// The body starts: clients waiting may stream `length` bytes from `descriptor`'s file.
    /// `headers` are the upstream's that clients get too (type, Last-Modified, ETag when known).
    func beginStreaming(length: UInt64, readDescriptor: Int32, headers: [(String, String)]) {
        let waiters = state.withLock { state in
            state.length = length
            state.readDescriptor = readDescriptor
            state.outcome = .stream(length: length, headers: headers)
            defer { state.headWaiters.removeAll() }
            return state.headWaiters
        }
        for waiter in waiters { waiter.loop.execute(waiter.callback) }
    }

    /// `count` more bytes are in the file.
    func wrote(_ count: Int) {
        let waiters = state.withLock { state in
            state.written += UInt64(count)
            let available = min(state.written, state.length &- 1)
            guard !state.progressWaiters.isEmpty, available > 0 else { return [Waiter]() }
            defer { state.progressWaiters.removeAll() }
            return state.progressWaiters
        }
        for waiter in waiters { waiter.loop.execute(waiter.callback) }
    }

    /// Every byte is in the file and verified: streaming clients may send the held-back bytes now,
    /// while the file is flushed and committed.
    func releaseStream() {
        let waiters = state.withLock { state in
            guard state.readDescriptor >= 0 else { return [Waiter]() }
            state.complete = true
            defer { state.progressWaiters.removeAll() }
            return state.progressWaiters
        }
        for waiter in waiters { waiter.loop.execute(waiter.callback) }
    }

    /// The body is stored as `entry`; the held-back bytes go out, and clients still waiting for
    /// an outcome (the body had no announced length) serve the entry.
    func finish(_ entry: CacheEntry, status: CacheStatus) {
        let waiters = state.withLock { state in
            state.complete = true
            if state.outcome == nil { state.outcome = .entry(entry, status) }
            defer {
                state.headWaiters.removeAll()
                state.progressWaiters.removeAll()
            }
            return state.headWaiters + state.progressWaiters
        }
        for waiter in waiters { waiter.loop.execute(waiter.callback) }
    }

    /// Answers every client that has not started streaming with `outcome`, and cuts off every
    /// streaming client when `outcome` is a failure.
    func resolve(_ outcome: DownloadOutcome) {
        let waiters = state.withLock { state in
            if case .failed(_, let reason) = outcome {
                state.failure = reason
            } else if case .stream = state.outcome, !state.complete {
                // Clients already streaming cannot be given another answer: cut them off.
                state.failure = "the transfer ended before its last byte"
            }
            if state.outcome == nil { state.outcome = outcome }
            defer {
                state.headWaiters.removeAll()
                state.progressWaiters.removeAll()
            }
            return state.headWaiters + state.progressWaiters
        }
        for waiter in waiters { waiter.loop.execute(waiter.callback) }
    }
}
