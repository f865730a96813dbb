// The compressions TarWriter offers, each at one fixed setting so that the same entries always
// give the same bytes (DESIGN.md, "Reproducible by construction"):
//   gzip  level 6, no timestamp in the header (libarchive `gzip:!timestamp`), OS byte 3 (Unix)
//   zstd  level 3, no worker threads
//   xz    level 6 (preset 6), single-threaded: the block layout depends on the thread count
import CArchive
import StrataCore

/// How ``TarWriter`` compresses its output.
public enum TarCompression: String, Sendable, CaseIterable {
    case none, gzip, zstd, xz

    /// The usual file-name suffix (`.tar.gz`, …), `""` for ``none``.
    public var fileExtension: String {
        switch self {
        case .none: ""
        case .gzip: ".gz"
        case .zstd: ".zst"
        case .xz: ".xz"
        }
    }

    /// Adds the filter to a libarchive writer and pins its settings.
    func configure(_ archive: OpaquePointer) throws {
        let what = "tar writer: \(rawValue) compression"
        switch self {
        case .none:
            try archive_write_add_filter_none(archive).check(archive, .internalError, what)
        case .gzip:
            try archive_write_add_filter_gzip(archive).check(archive, .internalError, what)
            try archive_write_set_filter_option(archive, "gzip", "compression-level", "6")
                .check(archive, .internalError, what)
            try archive_write_set_filter_option(archive, "gzip", "timestamp", nil).check(archive, .internalError, what)
        case .zstd:
            try archive_write_add_filter_zstd(archive).check(archive, .internalError, what)
            try archive_write_set_filter_option(archive, "zstd", "compression-level", "3")
                .check(archive, .internalError, what)
        case .xz:
            try archive_write_add_filter_xz(archive).check(archive, .internalError, what)
            try archive_write_set_filter_option(archive, "xz", "compression-level", "6")
                .check(archive, .internalError, what)
            try archive_write_set_filter_option(archive, "xz", "threads", "1").check(archive, .internalError, what)
        }
    }
}
