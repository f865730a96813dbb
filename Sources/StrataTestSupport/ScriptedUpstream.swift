// A loopback HTTP/1.1 server that answers each request with the raw bytes a test scripts, for what
// no well-behaved server sends and NIO's server would not let a test say: bytes after a complete
// response on a kept-alive connection, a body with `Content-Encoding`, a connection closed or left
// silent before the response head. Plain POSIX sockets, a thread per connection, bound to
// 127.0.0.1, and stopped by itself after its lifetime.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public final class ScriptedUpstream: @unchecked Sendable {
    // @unchecked: the mutable state is behind `state`'s lock; the descriptor is set once.
    public enum Answer: Sendable {
        /// Send these bytes (a whole response, or more than one, or less) and keep the connection.
        case bytes([UInt8])
        /// Send each part, `gap` apart, and keep the connection (bytes that arrive after a
        /// response looked complete).
        case parts([[UInt8]], gap: Duration)
        /// Send these bytes, then close the connection.
        case bytesThenClose([UInt8])
        /// Close the connection without a byte.
        case close
        /// Say nothing; the connection stays open until the server stops.
        case silence
    }

    /// One request as it arrived: its path and the connection (numbered from 0) it came on.
    public struct Request: Sendable, Equatable {
        public let path: String
        public let connection: Int
        public let head: String
    }

    public let port: Int
    private let listener: Int32
    private let script: @Sendable (String) -> Answer
    private struct State {
        var requests: [Request] = []
        /// Descriptors open now. A descriptor is closed, and leaves this list, only under the
        /// lock, and stop() shuts down only what is in it: a number closed here may be another
        /// test's socket a moment later, and shutting it down refused that test's connections.
        var connections: Set<Int32> = []
        var listenerOpen = true
        var stopped = false
    }
    private let state = LockedBox(State())

    /// Starts listening on 127.0.0.1 (a free port).
    /// - Parameter script: the answer for a request's path (`/pool/a.deb`).
    public init(lifetime: Duration = .seconds(60), script: @escaping @Sendable (String) -> Answer) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StrataError(.io, "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw StrataError(.io, "bind/listen: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        self.script = script
        Thread { [self] in acceptLoop() }.start()
        Thread { [self] in
            Thread.sleep(forTimeInterval: lifetime.seconds)
            stop()
        }.start()
    }

    /// `http://127.0.0.1:PORT/`.
    public var baseURL: String { "http://127.0.0.1:\(port)/" }

    /// Every request so far, in order of arrival.
    public var requests: [Request] { state.get().requests }

    /// Closes the listener and every connection.
    public func stop() {
        let listener = self.listener
        state.update { state in
            guard !state.stopped else { return }
            state.stopped = true
            for fd in state.connections { shutdown(fd, Int32(SHUT_RDWR)) }
            if state.listenerOpen { shutdown(listener, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes a connection's descriptor and forgets it, under the lock.
    private func closeConnection(_ fd: Int32) {
        state.update { state in
            if state.connections.remove(fd) != nil { close(fd) }
        }
    }

    private func acceptLoop() {
        var number = 0
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                break
            }
            let accepted = state.update { state -> Bool in
                guard !state.stopped else { return false }
                state.connections.insert(connection)
                return true
            }
            guard accepted else {
                close(connection)
                break
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            let index = number
            number += 1
            Thread { [self] in serve(connection, index: index) }.start()
        }
        let listener = self.listener
        state.update { state in
            state.listenerOpen = false
            close(listener)
        }
    }

    private func serve(_ fd: Int32, index: Int) {
        defer { closeConnection(fd) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            // One request head (these clients send no request bodies).
            while Self.headEnd(in: pending) == nil {
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { return }
                pending.append(contentsOf: buffer[0..<count])
            }
            guard let end = Self.headEnd(in: pending) else { return }
            let head = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeFirst(end + 4)
            let path = head.split(separator: " ", maxSplits: 2).dropFirst().first.map(String.init) ?? ""
            state.update { $0.requests.append(Request(path: path, connection: index, head: head)) }
            func send(_ bytes: [UInt8]) -> Bool {
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if written <= 0 { return false }
                    offset += written
                }
                return true
            }
            switch script(path) {
            case .bytes(let bytes):
                if !send(bytes) { return }
            case .parts(let parts, let gap):
                for (index, part) in parts.enumerated() {
                    if index > 0 { Thread.sleep(forTimeInterval: gap.seconds) }
                    if !send(part) { return }
                }
            case .bytesThenClose(let bytes):
                _ = send(bytes)
                return
            case .close:
                return
            case .silence:
                while read(fd, &buffer, buffer.count) > 0 {}
                return
            }
        }
    }

    private static func headEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// A `200 OK` with `body` and `Content-Length`, plus `headers` lines.
    public static func ok(_ body: [UInt8], headers: [String] = []) -> [UInt8] {
        Array(("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
            + body
    }
}
