import CStrataShim
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// A file being written under a store's `tmp/`; it becomes visible elsewhere only through
/// ``finish(movingTo:)``, which flushes it to disk and renames it atomically.
public final class TemporaryFile: @unchecked Sendable {
    // @unchecked: the descriptor is used by one writer at a time; the class only closes it once.
    public let path: String
    /// The open descriptor (-1 once finished or discarded); the store applies metadata through it.
    private(set) var fd: Int32

    init(directory: String, hint: String) throws {
        var template = Array("\(directory)/\(hint).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else {
            throw StrataError(.io, "cannot create a file in \(directory): \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        // mkstemp creates 0600; blobs are world-readable like any mirror's files (apt's _apt
        // user and the proxy's clients read them).
        _ = fchmod(fd, 0o644)
        self.fd = fd
        self.path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends `bytes`.
    /// - Throws: ``StrataError`` `.io` (ENOSPC included) naming the file.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw StrataError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Flushes (unless `durable` is false), closes and renames the file to `destination`.
    /// - Parameter startWriteback: when not `durable`, have the kernel start writing the file out
    ///   now without waiting for it (sync_file_range), so that a later syncfs finds little left
    ///   to do.
    public func finish(movingTo destination: String, durable: Bool = true, startWriteback: Bool = false) throws {
        defer { if fd >= 0 { close(fd); fd = -1 } }
        if !durable, startWriteback { _ = strata_start_writeback(fd) }
        guard !durable || fsync(fd) == 0 else {
            let message = String(cString: strerror(errno))
            discard()
            throw StrataError(.io, "cannot flush \(path): \(message)")
        }
        guard rename(path, destination) == 0 else {
            let message = String(cString: strerror(errno))
            discard()
            throw StrataError(.io, "cannot move \(path) to \(destination): \(message)")
        }
    }

    /// Closes and removes the file.
    public func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(path)
    }
}
