// The proxy's decisions, apart from the network server: is a request a hit, does an index need
// revalidating, which transfer does a miss join, and the transfers themselves (AsyncHTTPClient,
// failover across a backend's mirrors, redirects followed only within configured upstreams,
// verification against the cached indexes, commit into the blob store).
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import StrataCore
import StrataStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public final class ProxyService: Sendable {
    public let configuration: ProxyConfiguration
    public let cache: ProxyCache
    let router: RequestRouter
    let catalog = IndexCatalog()
    let metrics = ProxyMetrics()
    let accessLog: AccessLog?
    private let client: HTTPClient
    private let transfers = TransferExecutor(threads: 8)
    private let active = Mutex<[ExactString: Download]>([:])
    private let indexTTL: Double
    private let negativeTTL: Duration

    /// Opens the cache and the upstream client.
    /// - Throws: ``StrataError`` when the cache cannot be opened, the CA file cannot be read or
    ///   the access log cannot be opened.
    public init(configuration: ProxyConfiguration) throws {
        self.configuration = configuration
        cache = try ProxyCache(root: configuration.cacheDirectory)
        router = RequestRouter(backends: configuration.backends)
        indexTTL = Double(configuration.indexTTL.components.seconds)
        negativeTTL = configuration.negativeTTL
        accessLog = try configuration.accessLog.map(AccessLog.init(destination:))
        var http = HTTPClient.Configuration()
        http.redirectConfiguration = .disallow
        http.decompression = .disabled
        http.timeout = .init(connect: .seconds(10), read: .seconds(configuration.upstreamTimeout.components.seconds))
        http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        // A mirror that refuses connections fails at once, so the next one is tried (AsyncHTTPClient
        // would otherwise retry with backoff until the connect timeout: 10 s per request).
        http.connectionPool.retryConnectionEstablishment = false
        if let ca = configuration.upstreamCA {
            guard FileManager.default.isReadableFile(atPath: ca) else {
                throw StrataError(.notFound, "upstream CA file \(ca) cannot be read")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.file(ca)]
            http.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Reads every cached index into the catalog (after a restart).
    public func loadCatalog() { catalog.add(entries: cache.allEntries, blobs: cache.blobs) }

    public func shutdown() async {
        try? await client.shutdown()
        await transfers.shutdown()
        cache.flushUse()
        accessLog?.flush()
    }

    // MARK: lookups

    enum Lookup {
        case hit(CacheEntry)
        case download(Download)
        case notFound
    }

    /// What to do for `key` now.
    func lookup(_ key: CacheKey, preferredUpstream: Int?) -> Lookup {
        let now = Date().timeIntervalSince1970
        if let entry = cache.entry(key.text), isFresh(entry, now: now) { return .hit(entry) }
        if cache.entry(key.text) == nil, cache.isKnownMissing(key.text, now: .now) { return .notFound }
        return active.withLock { active in
            if let running = active[key.exact] { return .download(running) }
            // A transfer may have stored the entry and left between the check above and now.
            let previous = cache.entry(key.text)
            if let previous, isFresh(previous, now: Date().timeIntervalSince1970) { return .hit(previous) }
            let download = Download(key: key)
            active[key.exact] = download
            metrics.inFlight.wrappingAdd(1, ordering: .relaxed)
            Task(executorPreference: transfers) {
                await self.run(download, preferredUpstream: preferredUpstream, previous: previous)
            }
            return .download(download)
        }
    }

    private func isFresh(_ entry: CacheEntry, now: Double) -> Bool {
        entry.immutable || now - entry.validated < indexTTL
    }

    /// Drops a record whose blob has gone (removed by `clean`); the next lookup is a miss.
    func forgetMissingBlob(_ entry: CacheEntry) {
        if cache.entry(entry.key) == entry { cache.remove(entry.key) }
    }

    // MARK: transfers

    private enum Attempt {
        case done
        case notFound
        /// Worth asking the next upstream; the status is what the client gets if none answers.
        case retry(HTTPResponseStatus, String)
        case fail(HTTPResponseStatus, String)
    }

    private func run(_ download: Download, preferredUpstream: Int?, previous: CacheEntry?) async {
        let key = download.key
        let backend = configuration.backends[key.backend]
        var order = Array(backend.upstreams.indices)
        if let preferredUpstream, let index = order.firstIndex(of: preferredUpstream) {
            order.remove(at: index)
            order.insert(preferredUpstream, at: 0)
        }
        if previous != nil { metrics.add(.revalidations) }
        var failure: (HTTPResponseStatus, String)?
        var allNotFound = true
        loop: for index in order {
            switch await attempt(download, upstream: backend.upstreams[index], previous: previous) {
            case .done:
                return
            case .notFound:
                continue
            case .retry(let status, let reason):
                allNotFound = false
                failure = (status, reason)
            case .fail(let status, let reason):
                allNotFound = false
                failure = (status, reason)
                break loop
            }
        }
        if allNotFound {
            if previous != nil { cache.remove(key.text) }
            cache.rememberNotFound(key.text, until: .now + negativeTTL)
            end(download, .failed(.notFound, "\(key): not found upstream"))
        } else if let previous, !download.hasStreamed {
            metrics.add(.staleServed)
            Log.proxy.warning("\(key): serving the cached copy: \(failure?.1 ?? "upstream failed")")
            end(download, .entry(previous, .stale))
        } else {
            let (status, reason) = failure ?? (.badGateway, "no upstream answered")
            Log.proxy.error("\(key): \(reason)")
            end(download, .failed(status, reason))
        }
    }

    /// Leaves the registry, then tells the clients (so that a retry starts a new transfer).
    private func end(_ download: Download, _ outcome: DownloadOutcome) {
        active.withLock { active in
            if active[download.key.exact] === download { active[download.key.exact] = nil }
        }
        metrics.inFlight.wrappingSubtract(1, ordering: .relaxed)
        download.resolve(outcome)
    }

    private func attempt(_ download: Download, upstream: Upstream, previous: CacheEntry?) async -> Attempt {
        let key = download.key
        var url = upstream.url(for: RequestRouter.encode(key.path))
        for _ in 0..<6 {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "User-Agent", value: "strata-proxy")
            // The file's own bytes, not a coding the server might apply on the fly.
            request.headers.add(name: "Accept-Encoding", value: "identity")
            if let previous, !previous.immutable {
                if let etag = previous.etag { request.headers.add(name: "If-None-Match", value: etag) }
                if let modified = previous.lastModified {
                    request.headers.add(name: "If-Modified-Since", value: modified)
                }
            }
            metrics.add(.upstreamRequests)
            let response: HTTPClientResponse
            do {
                do {
                    response = try await client.execute(
                        request, timeout: .seconds(configuration.upstreamTimeout.components.seconds))
                } catch let error as HTTPClientError where error == .remoteConnectionClosed {
                    // A pooled connection the server had closed meanwhile: asked once more, on a
                    // new one (a GET is idempotent).
                    metrics.add(.upstreamRequests)
                    response = try await client.execute(
                        request, timeout: .seconds(configuration.upstreamTimeout.components.seconds))
                }
            } catch {
                metrics.add(.upstreamErrors)
                let timedOut = [HTTPClientError.deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout].contains {
                    $0 == (error as? HTTPClientError)
                }
                return .retry(timedOut ? .gatewayTimeout : .badGateway, "\(url): \(error)")
            }
            switch response.status.code {
            case 200:
                return await receive(download, response: response, url: url)
            case 304 where previous != nil:
                guard var entry = previous else { return .retry(.badGateway, "unreachable") }
                metrics.add(.notModified)
                entry.validated = Date().timeIntervalSince1970
                try? cache.store(entry)
                active.withLock { active in
                    if active[key.exact] === download { active[key.exact] = nil }
                }
                metrics.inFlight.wrappingSubtract(1, ordering: .relaxed)
                download.resolve(.entry(entry, .revalidated))
                return .done
            case 301, 302, 303, 307, 308:
                guard let location = response.headers.first(name: "Location"),
                    let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL.absoluteString
                else { return .fail(.badGateway, "\(url): redirect without a usable Location") }
                guard isConfiguredUpstream(next) else {
                    return .fail(.badGateway, "\(url): redirected to \(next), which is not a configured upstream")
                }
                url = next
            case 404, 410:
                return .notFound
            case 500...599:
                metrics.add(.upstreamErrors)
                return .retry(.badGateway, "\(url): upstream answered \(response.status.code) \(response.status.reasonPhrase)")
            default:
                metrics.add(.upstreamErrors)
                return .fail(.badGateway, "\(url): upstream answered \(response.status.code) \(response.status.reasonPhrase)")
            }
        }
        return .fail(.badGateway, "\(url): too many redirects")
    }

    /// Whether `url` lies under a configured upstream (redirect targets must).
    func isConfiguredUpstream(_ url: String) -> Bool {
        guard let target = try? Upstream(url) else { return false }
        // `..`, `.` and encoded slashes could climb out of a base path: such targets are refused.
        guard case .success = RequestRouter.segments(of: target.basePath.isEmpty ? "/" : target.basePath) else {
            return false
        }
        return configuration.backends.contains { backend in
            backend.upstreams.contains { upstream in
                upstream.scheme == target.scheme && upstream.host.sameBytes(as: target.host) && upstream.port == target.port
                    && (upstream.basePath.isEmpty || target.basePath.hasBytePrefix(upstream.basePath + "/"))
            }
        }
    }

    /// Bytes per second an upstream transfer must average once it has run for upstream-timeout.
    static let minimumUpstreamRate = 1024

    private func receive(_ download: Download, response: HTTPClientResponse, url: String) async -> Attempt {
        let key = download.key
        let expected = catalog.expected(for: key.text)
        let announced = response.headers.first(name: "Content-Length").flatMap { UInt64($0) }
        if let size = expected?.size, let announced, announced != size {
            metrics.add(.verificationFailures)
            return .fail(.badGateway, "\(url): upstream announces \(announced) bytes, the cached index names \(size)")
        }
        let temp: TemporaryFile
        do {
            temp = try cache.blobs.makeTemporaryFile(hint: "proxy")
        } catch {
            metrics.add(.storeErrors)
            return .fail(.serviceUnavailable, "cannot store \(key): \(error)")
        }
        let coding = response.headers.first(name: "Content-Encoding").flatMap { value -> String? in
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed.lowercased() == "identity" ? nil : trimmed
        }
        // Clients stream a miss from its first byte on: a transfer that fails before it is an
        // error status for them (not a 200 head and a short body), and an empty file is served
        // whole from its entry once stored.
        var streaming = false
        func beginStreaming() {
            guard !streaming, let announced, announced > 0 else { return }
            streaming = true
            var headers = [("Content-Type", response.headers.first(name: "Content-Type") ?? "application/octet-stream")]
            if let modified = response.headers.first(name: "Last-Modified") { headers.append(("Last-Modified", modified)) }
            if let coding { headers.append(("Content-Encoding", coding)) }
            // The content hash is the ETag cached responses carry; known before the body only from an index.
            if let expected { headers.append(("ETag", "\"\(expected.sha256.hex)\"")) }
            let fd = open(temp.path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { download.beginStreaming(length: announced, readDescriptor: fd, headers: headers) }
        }
        let limit = expected?.size ?? announced
        var hasher = StreamingSHA256()
        // A trickle (a byte now and then, never idle long enough for the read timeout) would hold
        // its clients for ever: past upstream-timeout, a transfer must average the minimum rate.
        let bodyStarted = ContinuousClock.now
        do {
            for try await buffer in response.body {
                let elapsed = ContinuousClock.now - bodyStarted
                if elapsed > configuration.upstreamTimeout,
                    Double(hasher.count + buffer.readableBytes) / elapsed.seconds < Double(Self.minimumUpstreamRate)
                {
                    temp.discard()
                    metrics.add(.upstreamErrors)
                    let reason = "\(url): \(hasher.count) bytes in \(Int(elapsed.seconds)) s, slower than \(Self.minimumUpstreamRate) bytes/s"
                    return streaming ? .fail(.gatewayTimeout, reason) : .retry(.gatewayTimeout, reason)
                }
                try buffer.withUnsafeReadableBytes { bytes in
                    hasher.update(bytes)
                    try temp.write(bytes)
                }
                if buffer.readableBytes > 0 { beginStreaming() }
                metrics.add(.bytesFromUpstream, buffer.readableBytes)
                download.wrote(buffer.readableBytes)
                if let limit, UInt64(hasher.count) > limit {
                    temp.discard()
                    metrics.add(.verificationFailures)
                    return .fail(.badGateway, "\(url): longer than the \(limit) bytes announced")
                }
            }
        } catch let error as StrataError {
            temp.discard()
            metrics.add(.storeErrors)
            return .fail(.serviceUnavailable, "cannot store \(key): \(error.message)")
        } catch {
            temp.discard()
            metrics.add(.upstreamErrors)
            let reason = "\(url): transfer broke off after \(hasher.count) bytes: \(error)"
            // Before the first byte no client streams yet: the next upstream may answer.
            return streaming ? .fail(.badGateway, reason) : .retry(.badGateway, reason)
        }
        if let limit, UInt64(hasher.count) != limit {
            temp.discard()
            metrics.add(.upstreamErrors)
            return .fail(.badGateway, "\(url): got \(hasher.count) of \(limit) bytes (truncated)")
        }
        let digest = hasher.finalize()
        if let expected, expected.sha256 != digest {
            temp.discard()
            metrics.add(.verificationFailures)
            return .fail(
                .badGateway,
                "\(url): sha256 \(digest.hex) does not match \(expected.sha256.hex) named by the cached index; not stored")
        }
        // An index's file list is read before any client has its last byte: a client that got the
        // new InRelease asks for the Packages it names next, which must be checked against it.
        if catalog.isCatalogued(key.text) {
            do {
                try catalog.add(key: key.text, file: temp.path)
            } catch {
                Log.proxy.warning("\(key): cached, but its file list could not be read: \(error)")
            }
        }
        download.releaseStream()
        let now = Date().timeIntervalSince1970
        let entry = CacheEntry(
            key: key.text, url: url, sha256: digest, size: UInt64(hasher.count),
            contentType: response.headers.first(name: "Content-Type"),
            lastModified: response.headers.first(name: "Last-Modified"), etag: response.headers.first(name: "ETag"),
            validated: now, lastUsed: now, immutable: RequestRouter.classify(key.path) == .immutable,
            contentEncoding: coding)
        do {
            try cache.blobs.commit(temp, actual: digest, expected: nil, what: url)
            try cache.store(entry)
        } catch {
            metrics.add(.storeErrors)
            return .fail(.serviceUnavailable, "cannot store \(key): \(error)")
        }
        active.withLock { active in
            if active[key.exact] === download { active[key.exact] = nil }
        }
        metrics.inFlight.wrappingSubtract(1, ordering: .relaxed)
        download.finish(entry, status: .miss)
        return .done
    }
}
