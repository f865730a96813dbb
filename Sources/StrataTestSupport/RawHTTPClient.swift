// A deliberately dumb HTTP client over a plain socket, for what URLSession hides: sending a
// path with `..` as is, seeing that a body stopped short of its Content-Length, seeing whether
// the server kept the connection open. Blocking socket calls run on a thread of their own.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// One response parsed out of a raw exchange.
public struct RawHTTPResponse: Sendable, Hashable {
    /// The status code.
    public let status: Int
    /// Header fields by lowercase name (the last value when repeated).
    public let headers: [String: String]
    /// The body bytes received, possibly fewer than `Content-Length` announced.
    public let body: [UInt8]
    /// `Content-Length` as announced, when present.
    public var announcedLength: Int? { headers["content-length"].flatMap { Int($0) } }
    /// Whether fewer body bytes arrived than were announced.
    public var isTruncated: Bool { announcedLength.map { body.count < $0 } ?? false }
}

/// Everything read back from one connection.
public struct RawHTTPExchange: Sendable {
    /// The bytes received, in order.
    public let bytes: [UInt8]
    /// `true` when the server closed the connection; `false` when reading stopped on the timeout
    /// with the connection still open (keep-alive).
    public let closedByServer: Bool

    /// Splits ``bytes`` into responses, framing bodies by `Content-Length`.
    /// - Parameter headRequests: how many leading requests were `HEAD` (their responses carry no body).
    public func responses(headRequests: Int = 0) -> [RawHTTPResponse] {
        var result: [RawHTTPResponse] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let headText = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self)
            var lines = headText.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { break }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                    .trimmingCharacters(in: .whitespaces)
            }
            rest = rest[end.upperBound...]
            let noBody = result.count < headRequests || status == 304 || status == 204 || status < 200
            let length = noBody ? 0 : (headers["content-length"].flatMap { Int($0) } ?? rest.count)
            let body = Array(rest.prefix(length))
            rest = rest.dropFirst(body.count)
            result.append(RawHTTPResponse(status: status, headers: headers, body: body))
        }
        return result
    }
}

/// Sends bytes verbatim to a loopback port and reads what comes back.
public enum RawHTTPClient {
    /// Connects to `127.0.0.1:port`, sends `request` (CRLFs and all), and reads until the server
    /// closes the connection or nothing arrives for `idleTimeout`.
    ///
    /// - Parameters:
    ///   - port: the server's port.
    ///   - request: the raw request text; several pipelined requests are fine.
    ///   - idleTimeout: how long to wait for more bytes before concluding the server keeps the
    ///     connection open.
    /// - Returns: the bytes and whether the server closed.
    /// - Throws: ``StrataError`` `.network` when the connection cannot be made.
    public static func exchange(port: Int, _ request: String, idleTimeout: Duration = .seconds(2)) async throws
        -> RawHTTPExchange
    {
        // A thread of its own, not a Dispatch worker: Swift's task executor runs on Dispatch's
        // small worker pool, and a few exchanges blocked in recv() waiting for an in-process
        // server would starve the tasks that server needs to answer them.
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try exchangeBlocking(port: port, Array(request.utf8), idleTimeout) })
            }
            thread.start()
        }
    }

    /// A GET (or other method) request line plus Host, with `Connection: close` unless told otherwise.
    public static func request(
        _ method: String = "GET", _ target: String, port: Int, keepAlive: Bool = false,
        headers: [String: String] = [:]
    ) -> String {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        if !keepAlive { text += "Connection: close\r\n" }
        return text + "\r\n"
    }

    private static func exchangeBlocking(port: Int, _ request: [UInt8], _ idleTimeout: Duration) throws
        -> RawHTTPExchange
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StrataError(.network, "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(
            tv_sec: Int(idleTimeout.components.seconds),
            tv_usec: Int(idleTimeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw StrataError(.network, "connect to 127.0.0.1:\(port) failed: errno \(errno)") }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw StrataError(.network, "send failed: errno \(errno)") }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer[0..<n]
            } else if n == 0 {
                return RawHTTPExchange(bytes: received, closedByServer: true)
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return RawHTTPExchange(bytes: received, closedByServer: false)
            } else if errno == ECONNRESET {
                return RawHTTPExchange(bytes: received, closedByServer: true)
            } else if errno != EINTR {
                throw StrataError(.network, "recv failed: errno \(errno)")
            }
        }
    }
}
