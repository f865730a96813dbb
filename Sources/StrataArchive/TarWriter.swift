// Writing a tar archive deterministically with libarchive's "pax restricted" format: plain
// ustar headers, plus a pax extended header only for what ustar cannot hold (long or non-ASCII
// names, large ids or sizes, extended attributes as `SCHILY.xattr.*` only).
// GNU tar, bsdtar, Docker and containerd read it. The output depends only on the entries added
// and the compression (TarCompression.swift): no host names, no access/change times, fixed
// 10240-byte blocks. Entry names: the root as `./`, directories with a trailing `/`, every
// other path relative without a leading `./` (as `docker export` writes them).
import CArchive
import StrataCore

/// Writes entries to a tar file. Not thread-safe, as libarchive is not.
public final class TarWriter {
    private let handle: OpaquePointer
    /// The output path, for error messages.
    public let path: String
    private var finished = false

    /// Creates (or truncates) the tar file at `path`.
    ///
    /// - Parameters:
    ///   - path: the output file.
    ///   - compression: the compression, at its fixed settings.
    /// - Throws: ``StrataError`` `.io` when the file cannot be created.
    public init(path: String, compression: TarCompression) throws {
        guard let handle = archive_write_new() else { throw StrataError.internalError("archive_write_new failed") }
        self.handle = handle
        self.path = path
        try archive_write_set_format_pax_restricted(handle).check(handle, .internalError, "\(path): pax format")
        // Extended attributes as SCHILY.xattr.* only: GNU tar reads those and warns about every
        // LIBARCHIVE.xattr.* record, which libarchive writes beside them by default.
        try archive_write_set_format_option(handle, "pax", "xattrheader", "SCHILY")
            .check(handle, .internalError, "\(path): pax xattr header")
        try compression.configure(handle)
        try archive_write_set_bytes_per_block(handle, 10240).check(handle, .internalError, "\(path): block size")
        try UTF8Locale.with { archive_write_open_filename(handle, path) }.check(handle, .io, "\(path): cannot create")
    }

    deinit {
        // An unfinished archive is abandoned, not completed: freeing without closing would write
        // a trailer that makes a partial archive look whole.
        if !finished { archive_write_fail(handle) }
        archive_write_free(handle)
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
        try UTF8Locale.with { archive_write_close(handle) }.check(handle, .io, "\(path): closing")
    }
}

@available(*, unavailable)
extension TarWriter: Sendable {}
