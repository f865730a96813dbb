// The per-connection handler of LoopbackHTTPServer: maps a request to a file under the root,
// answers conditionals, applies the path's fault and logs the exchange. Runs behind NIO's
// server pipeline (HTTPServerPipelineHandler keeps pipelined responses in order and handles
// keep-alive bookkeeping).
import Foundation
import NIOCore
import NIOHTTP1
import StrataCore

final class LoopbackFileHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: LoopbackServerState
    private var head: HTTPRequestHead?

    init(state: LoopbackServerState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead): head = requestHead
        case .body: break
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let path = Self.decodedPath(requestHead.uri)
            let fault = path.flatMap { state.fault(for: $0) }
            if let delay = fault?.delay {
                let nanoseconds =
                    delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
                let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                    self.respond(context: loopBoundContext.value, to: requestHead, path: path, fault: fault)
                }
            } else {
                respond(context: context, to: requestHead, path: path, fault: fault)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, to request: HTTPRequestHead, path: String?, fault: HTTPFault?)
    {
        guard context.channel.isActive else { return }
        let keepAlive = request.isKeepAlive
        guard let path else {
            return send(
                context, request, "?", status: .badRequest, body: Array("bad path\n".utf8), keepAlive: keepAlive)
        }
        if path.split(separator: "/").contains("..") {
            return send(
                context, request, path, status: .forbidden, body: Array("'..' refused\n".utf8), keepAlive: keepAlive)
        }
        guard request.method == .GET || request.method == .HEAD else {
            return send(context, request, path, status: .methodNotAllowed, body: [], keepAlive: keepAlive)
        }
        if let location = fault?.redirectTo {
            var headers = HTTPHeaders()
            headers.add(name: "Location", value: location)
            return send(context, request, path, status: .found, headers: headers, body: [], keepAlive: keepAlive)
        }
        if let code = fault?.status {
            return send(
                context, request, path, status: HTTPResponseStatus(statusCode: code), body: [], keepAlive: keepAlive)
        }
        let file = state.root + path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue,
            let content = FileManager.default.contents(atPath: file)
        else {
            return send(
                context, request, path, status: .notFound, body: Array("not found\n".utf8), keepAlive: keepAlive)
        }
        // A replaced body is another file: its own validators, so a revalidation sees the change.
        let body = fault?.replacementBody ?? Array(content)
        let modified =
            fault?.replacementBody != nil
            ? Date() : (try? FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date) ?? Date()
        let modifiedSeconds = modified.timeIntervalSince1970.rounded(.down)
        let etag = "\"\(SHA256Digest.of(body).hex.prefix(24))\""
        var headers = HTTPHeaders()
        headers.add(name: "Last-Modified", value: HTTPDate.format(Date(timeIntervalSince1970: modifiedSeconds)))
        headers.add(name: "ETag", value: etag)

        if let candidates = request.headers.first(name: "if-none-match") {
            let tags = candidates.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if tags.contains("*") || tags.contains(etag) || tags.contains("W/" + etag) {
                return send(
                    context, request, path, status: .notModified, headers: headers, body: nil, keepAlive: keepAlive)
            }
        } else if let since = request.headers.first(name: "if-modified-since").flatMap(HTTPDate.parse),
            modifiedSeconds <= since.timeIntervalSince1970
        {
            return send(context, request, path, status: .notModified, headers: headers, body: nil, keepAlive: keepAlive)
        }
        send(
            context, request, path, status: .ok, headers: headers, body: body, keepAlive: keepAlive,
            truncateAfter: fault?.truncateAfter, throttle: fault?.throttle)
    }

    /// Writes one response; `body == nil` means none may follow (304). HEAD gets the headers only.
    private func send(
        _ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ path: String, status: HTTPResponseStatus,
        headers extra: HTTPHeaders = [:], body: [UInt8]?, keepAlive: Bool, truncateAfter: Int? = nil,
        throttle: HTTPFault.Throttle? = nil
    ) {
        var recorded: [String: String] = [:]
        for (name, value) in request.headers where RecordedRequest.recordedHeaderNames.contains(name.lowercased()) {
            recorded[name.lowercased()] = value
        }
        state.record(
            RecordedRequest(method: request.method.rawValue, path: path, headers: recorded, status: Int(status.code)))

        var headers = extra
        headers.add(name: "Server", value: "strata-loopback")
        headers.add(name: "Date", value: HTTPDate.format(Date()))
        if let body { headers.add(name: "Content-Length", value: String(body.count)) }
        if status == .ok || status == .notModified { headers.add(name: "Accept-Ranges", value: "none") }
        let closeAfter = !keepAlive || truncateAfter != nil
        headers.add(name: "Connection", value: closeAfter ? "close" : "keep-alive")
        let responseHead = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)

        if request.method != .HEAD, let body, !body.isEmpty, let throttle {
            context.flush()
            sendThrottled(context, body[...], throttle: throttle, keepAlive: keepAlive)
            return
        }
        if request.method != .HEAD, let body, !body.isEmpty {
            let sent = truncateAfter.map { min(max($0, 0), body.count) } ?? body.count
            var buffer = context.channel.allocator.buffer(capacity: sent)
            buffer.writeBytes(body.prefix(sent))
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if truncateAfter != nil {
            // No `.end`: flush what was written and drop the connection mid-body.
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer()))))
                .assumeIsolated().whenComplete { _ in loopBoundContext.value.close(promise: nil) }
            return
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if closeAfter {
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.assumeIsolated().whenComplete { _ in loopBoundContext.value.close(promise: nil) }
        }
    }

    /// Writes `rest` a chunk at a time on the event loop's timer, then ends the response.
    private func sendThrottled(
        _ context: ChannelHandlerContext, _ rest: ArraySlice<UInt8>, throttle: HTTPFault.Throttle, keepAlive: Bool
    ) {
        guard context.channel.isActive else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        if rest.isEmpty {
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.assumeIsolated().whenComplete { _ in bound.value.close(promise: nil) } }
            return
        }
        let chunk = rest.prefix(max(1, throttle.bytes))
        var buffer = context.channel.allocator.buffer(capacity: chunk.count)
        buffer.writeBytes(chunk)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let remaining = rest.dropFirst(chunk.count)
        let nanoseconds =
            throttle.interval.components.seconds * 1_000_000_000 + throttle.interval.components.attoseconds / 1_000_000_000
        context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
            self.sendThrottled(bound.value, remaining, throttle: throttle, keepAlive: keepAlive)
        }
    }

    /// The request target's path, percent-decoded, without query or fragment; `nil` when it is
    /// not an origin-form path or does not decode.
    static func decodedPath(_ uri: String) -> String? {
        let raw =
            uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard raw.hasPrefix("/"), let decoded = raw.removingPercentEncoding, !decoded.contains("\0") else { return nil }
        return decoded
    }
}

/// RFC 9110 HTTP-date (IMF-fixdate) formatting and parsing.
enum HTTPDate {
    private static func formatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }

    static func format(_ date: Date) -> String { formatter().string(from: date) }
    static func parse(_ text: String) -> Date? { formatter().date(from: text) }
}
