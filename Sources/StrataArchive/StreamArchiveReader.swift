// A libarchive reader over bytes that another reader hands it, with no copy to disk: the tar
// inside a .deb's ar member (MemberTarReader.swift), the compressed cpio payload of an .rpm
// (CpioPayload.swift). The source's read callback gives the next buffer; decompression happens
// here, with only the decompressors packages use enabled (`enableDecompressors`).
import CArchive
import StrataCore

/// What feeds a ``StreamArchiveReader``: the next bytes, and why a read failed (libarchive itself
/// only reports "read failed"). Subclasses override ``read(_:)``.
class ArchiveByteSource {
    var failure: String?

    /// Points `out` at the next bytes: their count, 0 at the end, `ARCHIVE_FATAL` on error.
    func read(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int { Int(ARCHIVE_FATAL) }
}

@available(*, unavailable)
extension ArchiveByteSource: Sendable {}

/// One libarchive reader over an ``ArchiveByteSource``. Not thread-safe, as libarchive is not.
final class StreamArchiveReader {
    /// The `struct archive *`.
    let handle: OpaquePointer
    private let source: ArchiveByteSource
    /// The error text for a failure, given the source's reason when it has one.
    private let describe: (String?) -> String

    /// - Parameters:
    ///   - format: the archive format's name, for errors (`tar`, `cpio`).
    ///   - enable: libarchive's `archive_read_support_format_…` for it.
    /// - Throws: ``StrataError`` `.invalidInput` when the bytes are not that format (compressed or not).
    init(
        source: ArchiveByteSource, what: String, format: String, enable: (OpaquePointer?) -> Int32,
        describe: @escaping (String?) -> String
    ) throws {
        guard let handle = archive_read_new() else { throw StrataError.internalError("archive_read_new failed") }
        self.handle = handle
        self.source = source
        self.describe = describe
        try enableDecompressors(handle, what: what)
        try enable(handle).check(handle, .internalError, "\(what): enabling \(format)")
        let client = Unmanaged.passUnretained(source).toOpaque()
        let status = UTF8Locale.with {
            archive_read_open(
                handle, client, nil,
                { _, client, out in
                    guard let client, let out else { return Int(ARCHIVE_FATAL) }
                    return Unmanaged<ArchiveByteSource>.fromOpaque(client).takeUnretainedValue().read(out)
                }, nil)
        }
        try status.check(handle, .invalidInput, describe(source.failure))
    }

    deinit { archive_read_free(handle) }

    /// The next member's native header, or `nil` at the end of the archive.
    /// - Throws: ``StrataError`` `.invalidInput` for a corrupt or truncated archive.
    func nextHeader() throws -> OpaquePointer? {
        var entry: OpaquePointer?
        let status = UTF8Locale.with { archive_read_next_header(handle, &entry) }
        if status == ARCHIVE_EOF { return nil }
        try status.check(handle, .invalidInput, describe(source.failure), allowWarn: true)
        guard let entry else { throw StrataError.internalError("\(describe(nil)): libarchive returned no entry") }
        return entry
    }

    /// Reads the current member's data into `buffer`: the byte count, 0 at its end.
    /// - Throws: ``StrataError`` `.invalidInput` for corrupt or truncated data.
    func readData(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = archive_read_data(handle, buffer.baseAddress, buffer.count)
        guard n >= 0 else { throw StrataError(.invalidInput, "\(describe(source.failure)): \(libarchiveError(handle))") }
        return n
    }
}
