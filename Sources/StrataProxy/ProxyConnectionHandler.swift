// One client connection: HTTP/1.1 requests in (NIO's decoder), raw response bytes out. Requests
// are answered strictly in order (apt pipelines up to ten); a response is a serialized head plus a
// body that is a buffer (small files, errors), a FileRegion of a cached blob (sendfile), or the
// file of a running download, sent as it grows.
import Foundation
import NIOCore
import NIOHTTP1
import StrataCore

final class ProxyConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private static let maxPipelined = 16

    private let service: ProxyService
    private let local: LoopLocal
    private var assembling: HTTPRequestHead?
    private var pending: [HTTPRequestHead] = []
    private var current: Exchange?
    private var readHeld = false
    private var closed = false
    private var clientAddress = "-"
    private let limits: ConnectionLimits
    private let arrival: ArrivalWatch
    /// Closes the connection when a request's head and body take longer than the limit to arrive.
    private var requestDeadline: Scheduled<Void>?
    /// The download outcome this connection waits for (a number per wait): the outcome or the
    /// stale copy, whichever comes first, answers; the other finds it changed.
    private var waitingFor: UInt64?
    private var waitCount: UInt64 = 0

    /// The request being answered, for keep-alive and the access log.
    private struct Exchange {
        let head: HTTPRequestHead
        let started: NIODeadline
        var keepAlive: Bool
        var status: HTTPResponseStatus = .ok
        var bytes: UInt64 = 0
        var cache = "-"
    }

    init(service: ProxyService, local: LoopLocal, limits: ConnectionLimits, arrival: ArrivalWatch) {
        self.service = service
        self.local = local
        self.limits = limits
        self.arrival = arrival
    }

    // MARK: channel events

    func channelActive(context: ChannelHandlerContext) {
        let open = service.metrics.connections.wrappingAdd(1, ordering: .relaxed).newValue
        clientAddress = context.channel.remoteAddress?.ipAddress ?? "-"
        if open > limits.maxConnections {
            // Past the limit: closed at once, so that descriptors remain for cached files.
            service.metrics.add(.refused)
            closed = true
            context.close(promise: nil)
            return
        }
        armRequestDeadline(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        service.metrics.connections.wrappingSubtract(1, ordering: .relaxed)
        if current != nil { service.metrics.add(.clientErrors) }
        closed = true
        requestDeadline?.cancel()
        requestDeadline = nil
        context.fireChannelInactive()
    }

    /// A request's head and body must arrive within the limit, counted from its first byte (the
    /// ArrivalWatch before the decoder sees the bytes): a slowloris head, or a body announced and
    /// never sent, closes the connection. A connection with nothing arriving is the idle timer's.
    private func armRequestDeadline(_ context: ChannelHandlerContext, in delay: TimeAmount? = nil) {
        requestDeadline?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        requestDeadline = context.eventLoop.scheduleTask(in: delay ?? limits.requestTimeout) {
            let (handler, context) = bound.value
            handler.requestDeadline = nil
            guard !handler.closed else { return }
            // Nothing arriving, or reads held back by us (16 pipelined requests wait): not the client's delay.
            guard let first = handler.arrival.firstByte, !handler.readHeld else {
                return handler.armRequestDeadline(context)
            }
            let waited = NIODeadline.now() - first
            guard waited >= handler.limits.requestTimeout else {
                return handler.armRequestDeadline(context, in: handler.limits.requestTimeout - waited)
            }
            handler.service.metrics.add(.refused)
            handler.closed = true
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): assembling = head
        case .body: break  // GET and HEAD carry none; anything else is refused when it ends
        case .end:
            guard let head = assembling else { return }
            assembling = nil
            // The request is in; the next one is timed from its own first byte.
            arrival.firstByte = nil
            pending.append(head)
            if current == nil { startNext(context: context) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A connection idle between requests (no response under way) is closed; one that is
        // receiving a long response is not.
        if event is IdleStateHandler.IdleStateEvent, current == nil, pending.isEmpty, assembling == nil {
            closed = true
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if pending.count >= Self.maxPipelined {
            readHeld = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closed else { return }
        if let parserError = error as? HTTPParserError, current == nil {
            service.metrics.add(.refused)
            let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            var buffer = context.channel.allocator.buffer(capacity: 256)
            let reason = "bad request: \(parserError)\n"
            buffer.writeString(
                "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: text/plain\r\nContent-Length: \(reason.utf8.count)\r\nConnection: close\r\n\r\n\(reason)"
            )
            if let log = service.accessLog {
                local.logLine(
                    to: log, client: clientAddress, method: "-", target: "-", status: status.code, bytes: 0, cache: "-",
                    nanoseconds: 0)
            }
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).assumeIsolated().whenComplete { _ in
                bound.value.close(promise: nil)
            }
        } else {
            context.close(promise: nil)
        }
        closed = true
    }

    // MARK: requests

    private func startNext(context: ChannelHandlerContext) {
        guard !closed, current == nil, !pending.isEmpty else { return }
        let head = pending.removeFirst()
        if readHeld, pending.count < Self.maxPipelined {
            readHeld = false
            context.read()
        }
        current = Exchange(head: head, started: .now(), keepAlive: head.isKeepAlive)
        service.metrics.add(.requests)
        // RFC 9112 §3.2: an HTTP/1.1 request without Host, or with two, is answered 400.
        let hosts = head.headers["host"]
        if hosts.count > 1 || (hosts.isEmpty && head.version.major == 1 && head.version.minor >= 1) {
            service.metrics.add(.refused)
            return sendSimple(
                context, status: .badRequest, text: hosts.isEmpty ? "no Host header\n" : "more than one Host header\n",
                keepAlive: false)
        }
        switch local.route(method: head.method, uri: head.uri, router: service.router) {
        case .refuse(let status, let reason):
            service.metrics.add(.refused)
            sendSimple(context, status: status, text: reason + "\n", keepAlive: status != .badRequest)
        case .metrics:
            let text = service.metrics.prometheus(entries: service.cache.count, catalogued: service.catalog.count)
            sendSimple(context, status: .ok, text: text, contentType: "text/plain; version=0.0.4")
        case .status:
            let html = service.metrics.statusPage(
                entries: service.cache.count, catalogued: service.catalog.count,
                backends: service.configuration.backends)
            sendSimple(context, status: .ok, text: html, contentType: "text/html; charset=utf-8")
        case .file(let key, let preferred):
            serveFile(context, key: key, preferred: preferred, retries: 1)
        }
    }

    private func serveFile(_ context: ChannelHandlerContext, key: CacheKey, preferred: Int?, retries: Int) {
        switch service.lookup(key, preferredUpstream: preferred) {
        case .hit(let entry):
            service.metrics.add(.hits)
            serveEntry(context, entry, status: .hit, retries: retries, preferred: preferred)
        case .notFound:
            service.metrics.add(.negativeHits)
            sendSimple(context, status: .notFound, text: "\(key): not found upstream (remembered)\n")
        case .download(let download):
            service.metrics.add(.misses)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            waitCount &+= 1
            let waiting = waitCount
            waitingFor = waiting
            download.whenOutcome(on: context.eventLoop) { outcome in
                let (handler, context) = bound.value
                guard handler.waitingFor == waiting else { return }  // answered with the stale copy
                handler.waitingFor = nil
                handler.answer(context, download: download, outcome: outcome, preferred: preferred, retries: retries)
            }
            // A stale index being revalidated: past the wait, the cached copy is served (marked
            // stale) rather than holding the client for as long as a slow upstream takes.
            if let stale = service.cache.entry(key.text), !stale.immutable {
                context.eventLoop.scheduleTask(in: limits.revalidationWait) {
                    let (handler, context) = bound.value
                    guard handler.waitingFor == waiting, !handler.closed else { return }
                    handler.waitingFor = nil
                    handler.service.metrics.add(.staleServed)
                    handler.serveEntry(context, stale, status: .stale, retries: retries, preferred: preferred)
                }
            }
        }
    }

    private func answer(
        _ context: ChannelHandlerContext, download: Download, outcome: DownloadOutcome, preferred: Int?, retries: Int
    ) {
        guard !closed else { return }
        switch outcome {
        case .entry(let entry, let status):
            serveEntry(context, entry, status: status, retries: retries, preferred: preferred)
        case .failed(let status, let reason):
            sendSimple(context, status: status, text: reason + "\n")
        case .stream(let length, let headers):
            stream(context, download: download, length: length, headers: headers, preferred: preferred, retries: retries)
        }
    }

    // MARK: responses

    /// A cached file: conditionals, ranges, HEAD; the body from memory or by sendfile.
    private func serveEntry(
        _ context: ChannelHandlerContext, _ entry: CacheEntry, status cacheStatus: CacheStatus, retries: Int,
        preferred: Int?
    ) {
        guard let exchange = current else { return }
        let request = exchange.head
        current?.cache = cacheStatus.rawValue
        let now = Double(time(nil))
        // Last use is kept to the minute: cleaning needs no more, and a hit then takes no lock for it.
        if now - entry.lastUsed >= 60 { service.cache.markUsed(entry.key, at: now) }
        // The common case first: a small file, whole, kept-alive, unconditional.
        if cacheStatus == .hit, request.method == .GET, entry.size <= LoopLocal.smallFileLimit, exchange.keepAlive,
            request.version.minor == 1, !request.headers.contains(name: "range"),
            !request.headers.contains(name: "if-none-match"), !request.headers.contains(name: "if-modified-since"),
            let bytes = local.smallResponse(
                for: entry, path: service.cache.blobs.path(of: entry.sha256), allocator: context.channel.allocator,
                head: { date in
                    self.headText(
                        status: .ok, headers: Self.entryHeaders(entry, .hit) + [("Date", date)], length: entry.size,
                        keepAlive: true)
                })
        {
            service.metrics.add(.bytesFromCache, Int(entry.size))
            current?.bytes = entry.size
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(bytes))).assumeIsolated().whenComplete { result in
                let (handler, context) = bound.value
                handler.finishExchange(context, succeeded: (try? result.get()) != nil)
            }
            return
        }
        var headers = Self.entryHeaders(entry, cacheStatus)
        if Self.notModified(request.headers, entry: entry) {
            return sendHead(context, status: .notModified, headers: headers, length: nil, end: true)
        }
        let path = service.cache.blobs.path(of: entry.sha256)
        var range = 0..<entry.size
        var status = HTTPResponseStatus.ok
        if let rangeHeader = request.headers.first(name: "range"), Self.ifRangeHolds(request.headers, entry: entry) {
            switch Self.parseRange(rangeHeader, size: entry.size) {
            case .none: break
            case .unsatisfiable:
                headers.append(("Content-Range", "bytes */\(entry.size)"))
                return sendSimple(
                    context, status: .rangeNotSatisfiable, text: "", extra: headers.filter { $0.0 != "Content-Type" })
            case .range(let requested):
                range = requested
                status = .partialContent
                headers.append(("Content-Range", "bytes \(requested.lowerBound)-\(requested.upperBound - 1)/\(entry.size)"))
            }
        }
        let length = range.upperBound - range.lowerBound
        if request.method == .HEAD {
            return sendHead(context, status: status, headers: headers, length: length, end: true)
        }
        service.metrics.add(.bytesFromCache, Int(length))
        current?.bytes = length
        let handle: NIOFileHandle
        do {
            handle = try local.acquire(entry.sha256, path: path)
        } catch let error as StrataError where error.code != .notFound {
            // Out of descriptors, say: the record stays, and the client may try again.
            service.metrics.add(.refused)
            return sendSimple(
                context, status: .serviceUnavailable, text: "\(entry.key): cannot open the cached file now: \(error.message)\n",
                extra: [("Retry-After", "1")])
        } catch {
            // The blob went away (`strata proxy clean`): forget the record and fetch again.
            service.forgetMissingBlob(entry)
            guard retries > 0, let key = Self.key(of: entry, in: service) else {
                return sendSimple(context, status: .internalServerError, text: "\(entry.key): cached file is missing\n")
            }
            return serveFile(context, key: key, preferred: preferred, retries: retries - 1)
        }
        sendHead(context, status: status, headers: headers, length: length, end: false)
        let region = FileRegion(
            fileHandle: handle, readerIndex: Int(range.lowerBound), endIndex: Int(range.upperBound))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let digest = entry.sha256
        context.writeAndFlush(wrapOutboundOut(.fileRegion(region))).assumeIsolated().whenComplete { result in
            let (handler, context) = bound.value
            handler.local.release(digest)
            handler.finishExchange(context, succeeded: (try? result.get()) != nil)
        }
    }

    /// A miss: the body from the running download's file, as it arrives.
    private func stream(
        _ context: ChannelHandlerContext, download: Download, length: UInt64, headers upstreamHeaders: [(String, String)],
        preferred: Int?, retries: Int
    ) {
        guard let request = current?.head else { return }
        current?.cache = CacheStatus.miss.rawValue
        let headers = upstreamHeaders + [("X-Strata-Cache", CacheStatus.miss.rawValue)]
        if request.method == .HEAD {
            return sendHead(context, status: .ok, headers: headers, length: length, end: true)
        }
        let fd = download.openForReading()
        guard fd >= 0 else {
            // Finished (or failed) between the outcome and now, or no descriptor to be had.
            let progress = download.progress()
            if let failure = progress.failure {
                return sendSimple(context, status: .badGateway, text: failure + "\n")
            }
            if !progress.complete {
                return sendSimple(
                    context, status: .serviceUnavailable, text: "\(download.key): cannot open the download now\n",
                    extra: [("Retry-After", "1")])
            }
            return serveFile(context, key: download.key, preferred: preferred, retries: retries)
        }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        sendHead(context, status: .ok, headers: headers, length: length, end: false)
        current?.bytes = length
        pump(context, download: download, handle: handle, sent: 0, length: length)
    }

    private func pump(
        _ context: ChannelHandlerContext, download: Download, handle: NIOFileHandle, sent: UInt64, length: UInt64
    ) {
        guard !closed else {
            try? handle.close()
            return
        }
        let progress = download.progress()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        if progress.failure != nil, !progress.complete {
            // Cut the body short: the client must see the transfer fail. (Once complete, every
            // byte was verified; a failure to store them afterwards does not concern this client.)
            try? handle.close()
            current?.status = .badGateway
            closed = true
            context.close(promise: nil)
            return
        }
        if progress.available > sent {
            let end = min(progress.available, length)
            let region = FileRegion(fileHandle: handle, readerIndex: Int(sent), endIndex: Int(end))
            context.writeAndFlush(wrapOutboundOut(.fileRegion(region))).assumeIsolated().whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success:
                    handler.pump(context, download: download, handle: handle, sent: end, length: length)
                case .failure:
                    try? handle.close()
                    handler.finishExchange(context, succeeded: false)
                }
            }
            return
        }
        if progress.complete, sent >= length {
            try? handle.close()
            finishExchange(context, succeeded: true)
            return
        }
        download.whenProgress(beyond: sent, on: context.eventLoop) {
            let (handler, context) = bound.value
            handler.pump(context, download: download, handle: handle, sent: sent, length: length)
        }
    }

    private func sendSimple(
        _ context: ChannelHandlerContext, status: HTTPResponseStatus, text: String,
        contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = [], keepAlive: Bool = true
    ) {
        guard let exchange = current else { return }
        if !keepAlive { current?.keepAlive = false }
        let body = exchange.head.method == .HEAD ? "" : text
        sendHead(
            context, status: status, headers: [("Content-Type", contentType)] + extra, length: UInt64(text.utf8.count),
            end: false, bodyText: body)
    }

    /// Writes a head (and a small text body); with `end` or a body the exchange is finished.
    private func sendHead(
        _ context: ChannelHandlerContext, status: HTTPResponseStatus, headers: [(String, String)], length: UInt64?,
        end: Bool, bodyText: String? = nil
    ) {
        guard let exchange = current else { return }
        current?.status = status
        let text = headText(
            status: status, headers: headers + [("Date", local.date())], length: length,
            keepAlive: exchange.keepAlive, version: exchange.head.version)
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + (bodyText?.utf8.count ?? 0))
        buffer.writeString(text)
        if let bodyText { buffer.writeString(bodyText) }
        if end || bodyText != nil {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).assumeIsolated().whenComplete { result in
                let (handler, context) = bound.value
                handler.finishExchange(context, succeeded: (try? result.get()) != nil)
            }
        } else {
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
        }
    }

    private func headText(
        status: HTTPResponseStatus, headers: [(String, String)], length: UInt64?, keepAlive: Bool,
        version: HTTPVersion = .http1_1
    ) -> String {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nServer: strata\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let length { text += "Content-Length: \(length)\r\n" }
        if !keepAlive {
            text += "Connection: close\r\n"
        } else if version.minor == 0 {
            text += "Connection: keep-alive\r\n"
        }
        return text + "\r\n"
    }

    private func finishExchange(_ context: ChannelHandlerContext, succeeded: Bool) {
        guard let exchange = current else { return }
        current = nil
        if let log = service.accessLog {
            local.logLine(
                to: log, client: clientAddress, method: exchange.head.method.rawValue, target: exchange.head.uri,
                status: exchange.status.code, bytes: exchange.bytes, cache: exchange.cache,
                nanoseconds: (NIODeadline.now() - exchange.started).nanoseconds)
        }
        guard succeeded, exchange.keepAlive, !closed else {
            if !closed {
                closed = true
                context.close(promise: nil)
            }
            return
        }
        startNext(context: context)
    }

    // MARK: request header logic

    /// The headers every response from a cache entry carries.
    static func entryHeaders(_ entry: CacheEntry, _ cacheStatus: CacheStatus) -> [(String, String)] {
        var headers: [(String, String)] = [
            ("Content-Type", entry.contentType ?? "application/octet-stream"), ("ETag", entry.clientETag),
            ("Accept-Ranges", "bytes"), ("X-Strata-Cache", cacheStatus.rawValue),
        ]
        if let modified = entry.lastModified { headers.append(("Last-Modified", modified)) }
        // The bytes are the upstream's coded body: a client decodes them as it would have.
        if let coding = entry.contentEncoding { headers.append(("Content-Encoding", coding)) }
        if cacheStatus == .stale {
            headers.append(("Warning", "111 strata \"Revalidation Failed\""))
            headers.append(("X-Strata-Stale", "upstream unreachable; cached copy served"))
        }
        return headers
    }

    static func key(of entry: CacheEntry, in service: ProxyService) -> CacheKey? {
        guard let slash = entry.key.utf8.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let name = String(decoding: entry.key.utf8[..<slash], as: UTF8.self)
        guard let index = service.configuration.backends.firstIndex(where: { $0.name.sameBytes(as: name) }) else { return nil }
        return CacheKey(
            backend: index, name: name, path: String(decoding: entry.key.utf8[entry.key.utf8.index(after: slash)...], as: UTF8.self))
    }

    /// `If-None-Match` against the content hash, else `If-Modified-Since` against Last-Modified.
    static func notModified(_ headers: HTTPHeaders, entry: CacheEntry) -> Bool {
        if let match = headers.first(name: "if-none-match") {
            return match.split(separator: ",").contains {
                let tag = $0.trimmingCharacters(in: .whitespaces)
                return tag == "*" || tag == entry.clientETag || tag == "W/" + entry.clientETag
            }
        }
        guard let since = headers.first(name: "if-modified-since") else { return false }
        guard let modified = entry.lastModified else { return false }
        // The common case, apt sending back the Last-Modified it got, needs no date parsing.
        if since == modified { return true }
        guard let sinceDate = HTTPDate.parse(since), let modifiedDate = HTTPDate.parse(modified) else { return false }
        // RFC 9110 §13.1.3: a date later than the server's clock is invalid and is ignored.
        guard sinceDate.timeIntervalSince1970 <= Double(time(nil)) else { return false }
        return modifiedDate <= sinceDate
    }

    /// `If-Range`: the range applies only while the client's validator still matches.
    static func ifRangeHolds(_ headers: HTTPHeaders, entry: CacheEntry) -> Bool {
        guard let condition = headers.first(name: "if-range") else { return true }
        if condition.hasPrefix("\"") || condition.hasPrefix("W/") { return condition == entry.clientETag }
        return condition == entry.lastModified
    }

    enum RangeRequest: Equatable {
        case none
        case unsatisfiable
        case range(Range<UInt64>)
    }

    /// One `bytes=` range; several ranges, other units or a malformed header are ignored (the
    /// whole file is sent, as RFC 9110 allows).
    static func parseRange(_ header: String, size: UInt64) -> RangeRequest {
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes="), !value.contains(",") else { return .none }
        let spec = value.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .none }
        // RFC 9110 §14.1.1: positions are DIGITs only (`UInt64("+5")` would take a sign); a
        // range that does not parse (`bytes=--1`) is ignored, and the whole file sent.
        func position(_ text: Substring) -> UInt64? {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return UInt64(text)
        }
        if parts[0].isEmpty {
            guard let suffix = position(parts[1]) else { return .none }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .range((size - min(suffix, size))..<size)
        }
        guard let first = position(parts[0]) else { return .none }
        if parts[1].isEmpty { return first < size ? .range(first..<size) : .unsatisfiable }
        guard let last = position(parts[1]), last >= first else { return .none }
        guard first < size else { return .unsatisfiable }
        return .range(first..<(min(last, size - 1) + 1))
    }
}

/// Notes when the bytes of a request begin to arrive (before NIO's decoder, which says nothing
/// until a head is whole), for the request deadline of ProxyConnectionHandler.
final class ArrivalWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    /// The first byte of a request not yet complete; reset by the handler at each request's end.
    var firstByte: NIODeadline?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if firstByte == nil { firstByte = .now() }
        context.fireChannelRead(data)
    }
}
