// Decompressing single files (index files: `Packages.xz`, `primary.xml.zst`, …) with libarchive's
// raw format: gzip, xz, zstd, bzip2 and lz4 are recognised by their magic bytes, so a blob needs no
// file-name suffix; uncompressed input passes through unchanged.
import CArchive
import StrataCore

public enum Decompressor {
    /// The decompressed content of the file at `path`.
    /// - Parameter limit: refuse output larger than this (a decompression bomb in a hostile index).
    /// - Throws: ``StrataError`` `.invalidInput` naming `what` when the data is corrupt or too large.
    public static func decompress(file path: String, what: String, limit: Int = 1 << 31) throws -> [UInt8] {
        guard let archive = archive_read_new() else { throw StrataError.internalError("archive_read_new failed") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_raw(archive)
        archive_read_support_format_empty(archive)
        guard archive_read_open_filename(archive, path, 1 << 16) == ARCHIVE_OK else {
            throw StrataError(.invalidInput, "\(what): \(errorString(archive))")
        }
        var entry: OpaquePointer?
        let header = archive_read_next_header(archive, &entry)
        if header == ARCHIVE_EOF { return [] }
        guard header == ARCHIVE_OK else { throw StrataError(.invalidInput, "\(what): \(errorString(archive))") }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        while true {
            let n = chunk.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw StrataError(.invalidInput, "\(what): corrupt data: \(errorString(archive))") }
            guard out.count + n <= limit else {
                throw StrataError(.invalidInput, "\(what): decompresses to more than \(limit) bytes")
            }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    static func errorString(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
