// Downloads over HTTP(S) into the blob store with AsyncHTTPClient: the body is hashed while it is
// written to `tmp/`, and renamed into `blobs/sha256/` only when complete and, where an index named
// a digest, equal to it. Mutable files (InRelease, repomd.xml) are revalidated with
// If-None-Match / If-Modified-Since against the validators recorded for their URL in `urls/`.
// `file://` URLs are read directly, so a local mirror needs no server.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrataCore
import StrataStore

public final class HTTPFetcher: Fetcher {
    public let store: BlobStore
    private let client: HTTPClient
    private let timeout: TimeAmount
    private let shared: BlobStore?
    /// `http://HOST:PORT` of a caching proxy, asked in the path form strata proxy and
    /// apt-cacher-ng understand (`/mirror.host/debian/pool/…`). AsyncHTTPClient's own proxy
    /// support tunnels every request with CONNECT, which a caching proxy cannot cache (and strata
    /// proxy refuses).
    let proxyBase: String?

    /// - Parameters:
    ///   - proxy: an HTTP proxy (`http://127.0.0.1:3142`) that every request goes through.
    ///   - sharedBlobs: another blob store with the same layout, read before downloading a file
    ///     whose digest is known (`strata proxy`'s cache on the same host): a blob found there is
    ///     hardlinked (or copied) into ``store`` and checked like a download.
    ///   - timeout: per-request limit on waiting for data.
    public init(
        store: BlobStore, proxy: String? = nil, sharedBlobs: BlobStore? = nil, timeout: TimeAmount = .seconds(60)
    ) throws {
        self.store = store
        self.timeout = timeout
        shared = sharedBlobs
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        configuration.timeout = .init(connect: .seconds(15), read: timeout)
        configuration.decompression = .disabled
        // AsyncHTTPClient would otherwise retry a failed connection with backoff until the
        // connect timeout (15 s) and only then report it, so a proxy that is not running cost
        // 15 s per attempt; the callers decide what is worth retrying (``HTTPFetcher+Errors``).
        configuration.connectionPool.retryConnectionEstablishment = false
        if let proxy {
            guard let url = URL(string: proxy), url.scheme == "http", let host = url.host else {
                throw StrataError(.invalidInput, "not a proxy URL: '\(proxy)' (expected http://HOST:PORT)")
            }
            proxyBase = "http://\(host):\(url.port ?? 3142)"
        } else {
            proxyBase = nil
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    public func fetch(_ url: String, expected: SHA256Digest?, size: UInt64?) async throws -> SHA256Digest {
        if let expected, store.contains(expected) { return expected }
        if let expected, let shared, shared.contains(expected), (try? store.adopt(from: shared, expected)) != nil {
            return expected
        }
        if url.hasPrefix("file://") { return try store.ingest(file: String(url.dropFirst(7)), expected: expected) }
        try Self.checkScheme(url)
        let result = try await download(url, expected: expected, size: size, validators: nil)
        guard let digest = result.digest else { throw StrataError(.notFound, "\(url): not found (HTTP 404)") }
        return digest
    }

    public func fetchMutable(_ url: String) async throws -> SHA256Digest? {
        if url.hasPrefix("file://") {
            let path = String(url.dropFirst(7))
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            return try store.ingest(file: path)
        }
        try Self.checkScheme(url)
        let records = URLRecords(store: store)
        let previous = records.record(for: url).flatMap { store.contains($0.sha256) ? $0 : nil }
        let result = try await download(url, expected: nil, size: nil, validators: previous)
        if result.notModified, let previous { return previous.sha256 }
        guard let digest = result.digest else { return nil }
        try records.save(URLRecord(url: url, sha256: digest, etag: result.etag, lastModified: result.lastModified))
        return digest
    }

    private struct Result {
        var digest: SHA256Digest?
        var notModified = false
        var etag: String?
        var lastModified: String?
    }

    /// Refuses a URL strata cannot fetch before AsyncHTTPClient says `unsupportedScheme`.
    static func checkScheme(_ url: String) throws {
        let scheme = URLComponents(string: url)?.scheme?.lowercased()
        guard scheme == "http" || scheme == "https" else {
            let named = scheme.map { "'\($0)'" } ?? "no scheme"
            throw StrataError(
                .invalidInput, "\(url): unsupported URL scheme \(named) (strata fetches http://, https:// and file:// URLs)")
        }
    }

    /// `url` as sent: unchanged, or in the proxy's path form.
    func requestURL(for url: String) -> String {
        guard let proxyBase, let components = URLComponents(string: url), let host = components.host else { return url }
        let authority = components.port.map { "\(host):\($0)" } ?? host
        return "\(proxyBase)/\(authority)\(components.percentEncodedPath)"
    }

    private func download(
        _ url: String, expected: SHA256Digest?, size: UInt64?, validators: URLRecord?
    ) async throws -> Result {
        var request = HTTPClientRequest(url: requestURL(for: url))
        request.headers.add(name: "User-Agent", value: "strata")
        if let validators {
            if let etag = validators.etag { request.headers.add(name: "If-None-Match", value: etag) }
            if let modified = validators.lastModified { request.headers.add(name: "If-Modified-Since", value: modified) }
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            // A sibling download failed and the group is cancelling the rest: not this URL's fault,
            // and not worth a retry or a warning.
            if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled {
                throw CancellationError()
            }
            throw failure(url, error)
        }
        switch response.status.code {
        case 200: break
        case 304 where validators != nil: return Result(notModified: true)
        case 404, 410: return Result()
        default:
            let status = "HTTP \(response.status.code) \(response.status.reasonPhrase)"
            // Through a proxy, a 5xx is its answer about the mirror behind it.
            if let proxyBase, response.status.code >= 500 {
                throw StrataError(.network, "\(url): proxy \(proxyBase) answered \(status)")
            }
            throw StrataError(.network, "\(url): \(status)")
        }
        let temp = try store.makeTemporaryFile(hint: "download")
        var hasher = StreamingSHA256()
        do {
            for try await buffer in response.body {
                try buffer.withUnsafeReadableBytes { bytes in
                    hasher.update(bytes)
                    try temp.write(bytes)
                }
                if let size, hasher.count > size {
                    throw StrataError(.verificationFailed, "\(url): longer than the \(size) bytes its index names")
                }
            }
        } catch let error as StrataError {
            temp.discard()
            throw error
        } catch {
            temp.discard()
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw failure(url, error, receivedBytes: hasher.count)
        }
        if let size, UInt64(hasher.count) != size {
            temp.discard()
            throw StrataError(
                .verificationFailed, "\(url): got \(hasher.count) bytes, its index names \(size) (truncated download?)")
        }
        let digest = try store.commit(temp, actual: hasher.finalize(), expected: expected, what: url)
        return Result(
            digest: digest, etag: response.headers.first(name: "ETag"),
            lastModified: response.headers.first(name: "Last-Modified"))
    }
}
