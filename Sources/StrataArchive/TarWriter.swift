// Writing a tar archive deterministically with libarchive's "pax restricted" format: plain
// ustar headers, plus a pax extended header only for what ustar cannot hold (long or non-ASCII
// names, large ids or sizes, extended attributes as `SCHILY.xattr.*` only).
// GNU tar, bsdtar, Docker and containerd read it. The output depends only on the entries added
// and the compression (TarCompression.swift): no host names, no access/change times, the last
// block unpadded (so the 1 MiB write size never shows in the bytes, which equal those written in
// 10240-byte blocks; fewer writes). The bytes are hashed as they are written
// (``TarWriter/digest``): the build says the output's sha256 without reading it again. Entry
// names: the root as `./`, directories with a trailing `/`, every other path relative without a
// leading `./` (as `docker export` writes them).
import CArchive
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes entries to a tar file. Not thread-safe, as libarchive is not.
public final class TarWriter {
    private let handle: OpaquePointer
    /// The output path, for error messages.
    public let path: String
    private var finished = false
    private let sink: Sink
    /// The sha256 of the bytes written, once ``finish()`` returned.
    public private(set) var digest: SHA256Digest?

    /// Where libarchive's blocks go: the file, and a hash of everything written to it.
    private final class Sink {
        let fd: Int32
        var hasher = StreamingSHA256()

        init(fd: Int32) { self.fd = fd }

        func write(_ archive: OpaquePointer?, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
            var done = 0
            while done < count {
                let n = Glibc.write(fd, buffer + done, count - done)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    strata_archive_set_errno(archive, n < 0 ? errno : EIO)
                    return -1
                }
                done += n
            }
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: count))
            return count
        }
    }

    /// Creates (or truncates) the tar file at `path`.
    ///
    /// - Parameters:
    ///   - path: the output file.
    ///   - compression: the compression, at its fixed settings.
    /// - Throws: ``StrataError`` `.io` when the file cannot be created.
    public init(path: String, compression: TarCompression) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw StrataError(.io, "\(path): cannot create: \(String(cString: strerror(errno)))") }
        guard let handle = archive_write_new() else {
            close(fd)
            throw StrataError.internalError("archive_write_new failed")
        }
        self.handle = handle
        self.path = path
        sink = Sink(fd: fd)
        try archive_write_set_format_pax_restricted(handle).check(handle, .internalError, "\(path): pax format")
        // Extended attributes as SCHILY.xattr.* only: GNU tar reads those and warns about every
        // LIBARCHIVE.xattr.* record, which libarchive writes beside them by default.
        try archive_write_set_format_option(handle, "pax", "xattrheader", "SCHILY")
            .check(handle, .internalError, "\(path): pax xattr header")
        try compression.configure(handle)
        try archive_write_set_bytes_per_block(handle, 1 << 20).check(handle, .internalError, "\(path): block size")
        // What archive_write_open_filename does for a regular file: the last block unpadded.
        try archive_write_set_bytes_in_last_block(handle, 1).check(handle, .internalError, "\(path): last block")
        let client = Unmanaged.passUnretained(sink).toOpaque()
        try archive_write_open(
            handle, client, nil,
            { archive, client, buffer, count in
                guard let client, let buffer else { return -1 }
                return Unmanaged<Sink>.fromOpaque(client).takeUnretainedValue().write(archive, buffer, count)
            }, nil
        ).check(handle, .io, "\(path): cannot start writing")
    }

    deinit {
        // An unfinished archive is abandoned, not completed: freeing without closing would write
        // a trailer that makes a partial archive look whole.
        if !finished { archive_write_fail(handle) }
        archive_write_free(handle)
        if sink.fd >= 0, !finished { close(sink.fd) }
    }

    /// Appends one entry.
    ///
    /// - Parameters:
    ///   - entry: the metadata, written as given (the caller clamps mtimes).
    ///   - file: for a regular file, where its `entry.size` bytes are; `nil` for other kinds.
    /// - Throws: ``StrataError`` `.invalidInput` when a regular file has no content path or its
    ///   length differs from `entry.size`; `.io` for read or write errors.
    public func add(_ entry: ArchiveEntry, contentsOf file: String?) throws {
        guard !finished else { throw StrataError.internalError("\(path): add after finish") }
        Interruption.checkpoint()
        let native = try entry.makeNative()
        defer { archive_entry_free(native) }
        try UTF8Locale.with { archive_write_header(handle, native) }
            .check(handle, .io, "\(path): writing header of '\(entry.path)'")
        guard entry.kind == .file, entry.size > 0 || file != nil else { return }
        guard let file else {
            throw StrataError(.invalidInput, "\(path): regular file '\(entry.path)' has no content path")
        }
        var written: UInt64 = 0
        try FileReader.forEachChunk(of: file) { chunk in
            guard written + UInt64(chunk.count) <= entry.size else {
                throw StrataError(
                    .invalidInput, "\(path): \(file) is longer than the \(entry.size) bytes of '\(entry.path)'")
            }
            let n = archive_write_data(handle, chunk.baseAddress, chunk.count)
            guard n == chunk.count else {
                throw StrataError(.io, "\(path): writing '\(entry.path)': \(libarchiveError(handle))")
            }
            written += UInt64(n)
        }
        guard written == entry.size else {
            throw StrataError(
                .invalidInput, "\(path): \(file) has \(written) bytes, '\(entry.path)' says \(entry.size)")
        }
    }

    /// Writes the end-of-archive blocks, flushes the compressor and closes the file.
    /// - Throws: ``StrataError`` `.io` when the final write fails.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        let closing = UTF8Locale.with { archive_write_close(handle) }
        let closed = close(sink.fd) == 0 ? 0 : errno
        try closing.check(handle, .io, "\(path): closing")
        guard closed == 0 else { throw StrataError(.io, "\(path): closing: \(String(cString: strerror(closed)))") }
        digest = sink.hasher.finalize()
    }
}

@available(*, unavailable)
extension TarWriter: Sendable {}
