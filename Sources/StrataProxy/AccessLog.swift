// The access log: one line per answered request, buffered and written at most once a second
// (or when the buffer passes 64 KiB), so that logging costs the hit path a lock and a copy.
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
    private let timestamp = Mutex<(second: Int, text: String)>((0, ""))

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

    func record(
        client: String, method: String, target: String, status: Int, bytes: UInt64, cache: String, seconds: Double
    ) {
        let now = Date()
        let second = Int(now.timeIntervalSince1970)
        let stamp = timestamp.withLock { cached -> String in
            if cached.second != second {
                cached = (second, ISO8601DateFormatter().string(from: now))
            }
            return cached.text
        }
        let safeTarget = target.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\n", with: "%0A")
        let line =
            "\(stamp) \(client) \"\(method) \(safeTarget.prefix(512))\" \(status) \(bytes) \(cache) \(String(format: "%.1f", seconds * 1000))ms\n"
        let full = buffer.withLock { buffer in
            buffer.append(contentsOf: line.utf8)
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
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}
