// Small helpers shared by every use of libarchive in this module: turning its integer status
// codes into ``StrataError``s, and the file-type bits of `archive_entry_filetype`, which the C
// header defines as casted macros Swift cannot import.
import CArchive
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// libarchive's `AE_IF*` file-type constants (`archive_entry.h`), the same values as `S_IF*`.
public enum FileTypeBits {
    public static let mask: UInt32 = 0o170000
    public static let regular: UInt32 = 0o100000
    public static let directory: UInt32 = 0o040000
    public static let symlink: UInt32 = 0o120000
    public static let characterDevice: UInt32 = 0o020000
    public static let blockDevice: UInt32 = 0o060000
    public static let fifo: UInt32 = 0o010000
    public static let socket: UInt32 = 0o140000
}

extension Int32 {
    /// Throws unless this libarchive status is `ARCHIVE_OK` (or `ARCHIVE_WARN` when `allowWarn`).
    ///
    /// - Parameters:
    ///   - archive: the handle whose error string explains the failure.
    ///   - code: the ``StrataError`` code to throw.
    ///   - what: the message prefix (the file, the member, the operation).
    func check(
        _ archive: OpaquePointer, _ code: StrataError.Code, _ what: @autoclosure () -> String,
        allowWarn: Bool = false
    ) throws {
        if self == ARCHIVE_OK || (allowWarn && self == ARCHIVE_WARN) { return }
        throw StrataError(code, "\(what()): \(libarchiveError(archive))")
    }
}

/// Enables the decompressors a .deb member or an rpm payload may use: gzip, xz, lzma, zstd,
/// bzip2. `archive_read_support_filter_all` would also run external programs (lrzip, lzop,
/// grzip) on hostile input.
func enableDecompressors(_ archive: OpaquePointer, what: @autoclosure () -> String) throws {
    for enable in [
        archive_read_support_filter_gzip, archive_read_support_filter_xz, archive_read_support_filter_lzma,
        archive_read_support_filter_zstd, archive_read_support_filter_bzip2,
    ] {
        try enable(archive).check(archive, .internalError, "\(what()): enabling a decompressor", allowWarn: true)
    }
}

/// The handle's last error message.
func libarchiveError(_ archive: OpaquePointer) -> String {
    let text = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    // libarchive's own words ("Write error", "Failed to open") leave out why: the errno says it.
    // Not for ARCHIVE_ERRNO_FILE_FORMAT, which is EILSEQ on Linux: "Unrecognized archive format"
    // followed by "Invalid or incomplete multibyte or wide character" would mislead.
    let code = archive_errno(archive)
    guard code > 0, code != EILSEQ else { return text }
    let reason = StrataError.reason(errno: code)
    return text.contains(reason) ? text : "\(text): \(reason)"
}

/// Runs libarchive calls with the calling thread's LC_CTYPE set to C.UTF-8 (uselocale(3)).
///
/// libarchive converts names between pax's UTF-8 and "the current locale's charset". A Swift
/// process never calls setlocale, so that is ASCII, and libarchive 3.6.2 then refuses to
/// write non-ASCII names ("Can't translate pathname") or crashes when an entry has only a
/// UTF-8 name. With UTF-8 as the locale charset the conversion is the identity, whatever the
/// process locale, so output does not depend on the environment. uselocale is per thread and
/// restored before returning; `body` must not suspend (it is synchronous).
enum UTF8Locale {
    // A locale_t is an immutable object once created and may be installed on any thread.
    nonisolated(unsafe) private static let utf8: locale_t? = newlocale(1 << LC_CTYPE, "C.UTF-8", nil)

    static func with<T>(_ body: () throws -> T) rethrows -> T {
        guard let utf8 else { return try body() }
        let previous = uselocale(utf8)
        defer { uselocale(previous) }
        return try body()
    }
}
