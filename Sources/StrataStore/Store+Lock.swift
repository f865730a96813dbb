// The writer lock: flock(2) LOCK_EX on `<root>/lock`. One writer at a time across processes (and
// across tasks of one process: each holder opens the file itself, and flock locks belong to the
// open file description). The kernel drops the lock when the holder's descriptor closes, so a
// killed writer never leaves the store locked. Readers take no lock: everything they read is
// created by rename(2).
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// Runs `body` holding the store's writer lock, waiting (blocking the thread) for it.
    ///
    /// Not reentrant: calling it, or ``gc(keepBlobs:pruneBlobs:temporaryFileAge:)``, inside `body`
    /// waits forever. From async code use ``withWriterLock(isolation:_:)``, which does not block a
    /// thread of the cooperative pool while waiting.
    /// - Throws: ``StrataError`` `.io` when the lock file cannot be opened or locked; what `body` throws.
    public func withWriterLock<T>(_ body: () throws -> T) throws -> T {
        let fd = try openLockFile()
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Self.ioError("cannot lock", lockPath) }
        }
        return try body()
    }

    /// Runs `body` holding the store's writer lock, polling for it (up to every 50 ms) without
    /// blocking a thread. Not reentrant.
    /// - Throws: `CancellationError` when the task is cancelled while waiting, ``StrataError`` `.io`,
    ///   what `body` throws.
    public func withWriterLock<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        let fd = try openLockFile()
        defer { close(fd) }
        var delay: UInt64 = 1_000_000
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw Self.ioError("cannot lock", lockPath) }
            try await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 50_000_000)
        }
        return try await body()
    }

    private func openLockFile() throws -> Int32 {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.ioError("cannot open", lockPath) }
        return fd
    }
}
