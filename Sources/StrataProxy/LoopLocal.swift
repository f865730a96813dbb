// State each event loop keeps for itself, touched only from its own thread: open descriptors of
// cached blobs (a handle shared by two loops fails with EBUSY under load, see
// notes/proxy-serving.md) and the complete response bytes of small hot files, so that a small
// hit is one buffer write with no file access and no header serialisation.
import Foundation
import NIOCore
import NIOHTTP1
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

final class LoopLocal {
    /// Files up to this size are answered from memory.
    static let smallFileLimit: UInt64 = 64 * 1024
    private static let smallCacheBudget = 16 * 1024 * 1024
    private static let openFileCapacity = 128

    private struct OpenFile {
        let handle: NIOFileHandle
        var users: Int
        var lastUse: UInt64
    }
    private var openFiles: [SHA256Digest: OpenFile] = [:]
    private var tick: UInt64 = 0

    private struct SmallResponse {
        let entry: CacheEntry
        var second: Int
        var bytes: ByteBuffer
        var lastUse: UInt64
    }
    private var small: [ExactString: SmallResponse] = [:]
    private var smallBytes = 0

    deinit {
        // NIOFileHandle insists on being closed before it goes.
        for file in openFiles.values { try? file.handle.close() }
    }

    // MARK: routes

    private var routes: [ExactString: Route] = [:]
    private var routeBytes = 0
    /// Targets longer than this are routed every time (real repository paths are far shorter).
    static let memoTargetLimit = 512
    /// The memo is emptied (its storage freed) when its targets reach this many entries or bytes.
    static let routeMemoEntries = 8192
    static let routeMemoBytes = 2 * 1024 * 1024

    /// The router's answer for a file request, remembered per request target, by its exact bytes
    /// (the router splits, decodes and validates the path; a hot file's target arrives again and
    /// again). Bounded by entries and bytes: 3,000 long padded paths once grew it by 230 MB.
    func route(method: HTTPMethod, uri: String, router: RequestRouter) -> Route {
        guard method == .GET || method == .HEAD else { return router.route(method: method, uri: uri) }
        let key = ExactString(uri)
        if let known = routes[key] { return known }
        let route = router.route(method: method, uri: uri)
        if case .file(let cacheKey, _) = route, uri.utf8.count <= Self.memoTargetLimit {
            let cost = uri.utf8.count + cacheKey.text.utf8.count + cacheKey.path.utf8.count + 64
            if routes.count >= Self.routeMemoEntries || routeBytes + cost > Self.routeMemoBytes {
                routes = [:]
                routeBytes = 0
            }
            routes[key] = route
            routeBytes += cost
        }
        return route
    }

    /// Entries and bytes the route memo holds (for the resource tests).
    var routeMemo: (entries: Int, bytes: Int) { (routes.count, routeBytes) }

    // MARK: access log

    private var logBuffer: [UInt8] = []
    private var logSecond = -1
    private var logStamp = ""

    /// Appends one access-log line to this loop's buffer (written by ``flushLog(to:)``).
    func logLine(
        to log: AccessLog, client: String, method: String, target: String, status: UInt, bytes: UInt64, cache: String,
        nanoseconds: Int64
    ) {
        let now = time(nil)
        if Int(now) != logSecond {
            logSecond = Int(now)
            logStamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(now)))
        }
        let micros = max(0, nanoseconds / 1000)
        let safeTarget =
            target.utf8.contains(where: { $0 == 0x22 || $0 < 0x20 })
            ? String(decoding: target.utf8.map { $0 == 0x22 || $0 < 0x20 ? 0x3f : $0 }, as: UTF8.self) : target
        logBuffer.append(
            contentsOf:
                "\(logStamp) \(client) \"\(method) \(safeTarget.prefix(512))\" \(status) \(bytes) \(cache) \(micros / 1000).\(micros % 1000 / 100)ms\n"
                .utf8)
        if logBuffer.count >= 1 << 16 { flushLog(to: log) }
    }

    func flushLog(to log: AccessLog) {
        guard !logBuffer.isEmpty else { return }
        log.write(logBuffer)
        logBuffer.removeAll(keepingCapacity: true)
    }

    private var dateSecond = -1
    private(set) var dateText = ""

    /// The `Date` header value, recomputed once a second.
    func date(now: time_t = time(nil)) -> String {
        if Int(now) != dateSecond {
            dateSecond = Int(now)
            dateText = HTTPDate.format(Date(timeIntervalSince1970: TimeInterval(now)))
        }
        return dateText
    }

    /// A handle of the blob, counted as in use until ``release(_:)``.
    /// - Throws: ``StrataError`` `.notFound` when the blob is gone, `.io` when it cannot be opened now.
    func acquire(_ digest: SHA256Digest, path: String) throws -> NIOFileHandle {
        tick += 1
        if var file = openFiles[digest] {
            file.users += 1
            file.lastUse = tick
            openFiles[digest] = file
            return file.handle
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            // Only a blob that is not there is missing; out of descriptors (EMFILE, ENFILE) or
            // memory is a passing failure that must not cost the record.
            throw StrataError(code == ENOENT ? .notFound : .io, "\(path): \(String(cString: strerror(code)))")
        }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        openFiles[digest] = OpenFile(handle: handle, users: 1, lastUse: tick)
        if openFiles.count > Self.openFileCapacity { evictIdleFiles() }
        return handle
    }

    func release(_ digest: SHA256Digest) {
        guard var file = openFiles[digest] else { return }
        file.users -= 1
        openFiles[digest] = file
    }

    private func evictIdleFiles() {
        let idle = openFiles.filter { $0.value.users == 0 }.sorted { $0.value.lastUse < $1.value.lastUse }
        for (digest, file) in idle.prefix(max(0, openFiles.count - Self.openFileCapacity / 2)) {
            try? file.handle.close()
            openFiles[digest] = nil
        }
    }

    /// The whole `200` response (head with `Date` and body) for a small cached file, served
    /// keep-alive; built when missing, when the entry changed or when the second changed.
    func smallResponse(for entry: CacheEntry, path: String, allocator: ByteBufferAllocator, head: (String) -> String)
        -> ByteBuffer?
    {
        tick += 1
        let now = Int(time(nil))
        if var cached = small[ExactString(entry.key)], cached.entry.sha256 == entry.sha256, cached.entry.lastModified == entry.lastModified {
            cached.lastUse = tick
            if cached.second != now {
                let bodyStart = cached.bytes.readableBytes - Int(entry.size)
                guard let body = cached.bytes.getSlice(at: cached.bytes.readerIndex + bodyStart, length: Int(entry.size))
                else { return nil }
                var bytes = allocator.buffer(capacity: cached.bytes.readableBytes + 8)
                bytes.writeString(head(date()))
                bytes.writeImmutableBuffer(body)
                smallBytes += bytes.readableBytes - cached.bytes.readableBytes
                cached.bytes = bytes
                cached.second = now
            }
            small[ExactString(entry.key)] = cached
            return cached.bytes
        }
        guard let content = try? FileReader.readAll(path), content.count == Int(entry.size) else { return nil }
        var bytes = allocator.buffer(capacity: content.count + 512)
        bytes.writeString(head(date()))
        bytes.writeBytes(content)
        if let old = small[ExactString(entry.key)] { smallBytes -= old.bytes.readableBytes }
        small[ExactString(entry.key)] = SmallResponse(entry: entry, second: now, bytes: bytes, lastUse: tick)
        smallBytes += bytes.readableBytes
        if smallBytes > Self.smallCacheBudget {
            for (key, response) in small.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
                guard smallBytes > Self.smallCacheBudget / 2 else { break }
                small[key] = nil
                smallBytes -= response.bytes.readableBytes
            }
        }
        return bytes
    }
}

/// RFC 9110 HTTP-date (IMF-fixdate).
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// Parses IMF-fixdate (what every current client sends).
    static func parse(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
