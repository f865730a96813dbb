// The access log: one line per answered request. Each event loop formats lines into a buffer of
// its own (LoopLocal) and hands it over here at most once a second or per 64 KiB, so logging costs
// the hit path no lock.
//
//   2026-11-21T10:00:00Z 127.0.0.1 "GET /debian/pool/main/h/hello/hello_2.10_amd64.deb" 200 53224 HIT 0.4ms
import Foundation
import Logging
import StrataCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension Log {
    static let proxy = Logger(label: "strata.proxy")
}

final class AccessLog: Sendable {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let buffer = Mutex<[UInt8]>([])

    /// - Parameter destination: a file (appended to) or `-` for stderr.
    /// - Throws: ``StrataError`` `.io` when the file cannot be opened.
    init(destination: String) throws {
        if destination == "-" {
            fd = 2
            ownsDescriptor = false
        } else {
            let descriptor = open(destination, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard descriptor >= 0 else {
                throw StrataError(.io, "cannot open access log \(destination): \(String(cString: strerror(errno)))")
            }
            fd = descriptor
            ownsDescriptor = true
        }
    }

    deinit {
        flush()
        if ownsDescriptor { close(fd) }
    }

    /// Writes complete lines (each event loop buffers its own and hands them over here).
    func write(_ lines: [UInt8]) {
        let full = buffer.withLock { buffer in
            buffer.append(contentsOf: lines)
            return buffer.count >= 1 << 16
        }
        if full { flush() }
    }

    /// Writes what is buffered.
    func flush() {
        let bytes = buffer.withLock { buffer in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}
