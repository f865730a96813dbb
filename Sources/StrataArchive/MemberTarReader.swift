// Reading a tar that is itself a member of another archive (data.tar.xz inside a .deb's ar)
// without a copy: a second libarchive reader whose read callback pulls the next bytes of the
// outer reader's current member with `archive_read_data`. Decompression happens in the inner
// reader, so at most one 64 KiB buffer of the member is in memory at a time.
//
// Only the decompressors a .deb may use are enabled (gzip, xz, lzma, zstd, bzip2; see
// `enableDecompressors`).
import CArchive
import StrataCore

/// Feeds the outer reader's current member to an inner reader; the inner reader's client data.
final class OuterMemberSource {
    let outer: OpaquePointer
    let buffer: UnsafeMutableRawBufferPointer
    /// The outer reader's error, kept because the inner reader only sees "read failed".
    var failure: String?

    init(outer: OpaquePointer, bufferSize: Int = 1 << 16) {
        self.outer = outer
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next bytes of the member: a count > 0, 0 at its end, -1 on error.
    func read(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        let n = archive_read_data(outer, buffer.baseAddress, buffer.count)
        if n < 0 {
            failure = libarchiveError(outer)
            return Int(ARCHIVE_FATAL)
        }
        out.pointee = UnsafeRawPointer(buffer.baseAddress)
        return n
    }
}

@available(*, unavailable)
extension OuterMemberSource: Sendable {}

/// A tar reader over the outer reader's current member. Not thread-safe, as libarchive is not.
final class MemberTarReader {
    /// The inner `struct archive *`.
    let handle: OpaquePointer
    private let source: OuterMemberSource
    /// Names the member in errors (`"foo.deb: data.tar.xz"`).
    let what: String

    /// Opens the tar in the outer reader's current member.
    ///
    /// - Parameters:
    ///   - outer: a reader positioned just after `archive_read_next_header`.
    ///   - what: names the .deb and member in errors.
    /// - Throws: ``StrataError`` `.invalidInput` when the member is not a (compressed) tar.
    init(outer: OpaquePointer, what: String) throws {
        guard let handle = archive_read_new() else { throw StrataError.internalError("archive_read_new failed") }
        self.handle = handle
        self.source = OuterMemberSource(outer: outer)
        self.what = what
        try enableDecompressors(handle, what: what)
        try archive_read_support_format_tar(handle).check(handle, .internalError, "\(what): enabling tar")
        let client = Unmanaged.passUnretained(source).toOpaque()
        let status = UTF8Locale.with {
            archive_read_open(
                handle, client, nil,
                { _, client, out in
                    guard let client, let out else { return Int(ARCHIVE_FATAL) }
                    return Unmanaged<OuterMemberSource>.fromOpaque(client).takeUnretainedValue().read(out)
                }, nil)
        }
        try status.check(handle, .invalidInput, failureMessage())
    }

    deinit { archive_read_free(handle) }

    /// The next entry's native header, or `nil` at the end of the tar.
    /// - Throws: ``StrataError`` `.invalidInput` for a corrupt or truncated tar.
    func nextHeader() throws -> OpaquePointer? {
        var entry: OpaquePointer?
        let status = UTF8Locale.with { archive_read_next_header(handle, &entry) }
        if status == ARCHIVE_EOF { return nil }
        try status.check(handle, .invalidInput, failureMessage(), allowWarn: true)
        guard let entry else { throw StrataError.internalError("\(what): libarchive returned no entry") }
        return entry
    }

    /// Reads the current entry's content into `buffer`: the byte count, 0 at its end.
    /// - Throws: ``StrataError`` `.invalidInput` for corrupt or truncated data.
    func readData(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = archive_read_data(handle, buffer.baseAddress, buffer.count)
        guard n >= 0 else { throw StrataError(.invalidInput, "\(failureMessage()): \(libarchiveError(handle))") }
        return n
    }

    /// The member name, plus the outer reader's error when that is why the inner one failed.
    private func failureMessage() -> String {
        source.failure.map { "\(what) (\($0))" } ?? what
    }
}

@available(*, unavailable)
extension MemberTarReader: Sendable {}
