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
final class OuterMemberSource: ArchiveByteSource {
    let outer: OpaquePointer
    let buffer: UnsafeMutableRawBufferPointer

    init(outer: OpaquePointer, bufferSize: Int = 1 << 16) {
        self.outer = outer
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next bytes of the member: a count > 0, 0 at its end, -1 on error.
    override func read(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        let n = archive_read_data(outer, buffer.baseAddress, buffer.count)
        if n < 0 {
            failure = libarchiveError(outer)
            return Int(ARCHIVE_FATAL)
        }
        out.pointee = UnsafeRawPointer(buffer.baseAddress)
        return n
    }
}


/// A tar reader over the outer reader's current member. Not thread-safe, as libarchive is not.
typealias MemberTarReader = StreamArchiveReader

extension StreamArchiveReader {
    /// Opens the tar in the outer reader's current member.
    ///
    /// - Parameters:
    ///   - outer: a reader positioned just after `archive_read_next_header`.
    ///   - what: names the .deb and member in errors (`"foo.deb: data.tar.xz"`).
    /// - Throws: ``StrataError`` `.invalidInput` when the member is not a (compressed) tar.
    convenience init(outer: OpaquePointer, what: String) throws {
        try self.init(
            source: OuterMemberSource(outer: outer), what: what, format: "tar",
            enable: archive_read_support_format_tar
        ) { failure in failure.map { "\(what) (\($0))" } ?? what }
    }
}
