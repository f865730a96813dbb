// Extended attributes of files on disk, read through libarchive's disk reader
// (`archive_read_disk_entry_from_file` in physical mode: llistxattr(2)/lgetxattr(2), never
// following a symlink). Swift's Glibc module does not export sys/xattr.h, and libarchive is the
// C library this module already wraps. ACLs, file flags and sparse-file maps are switched off.
// Only `security.*` (file capabilities, SELinux labels) and `user.*` are kept: `trusted.*`
// needs CAP_SYS_ADMIN to read and `system.*` holds ACLs, which templates do not carry.
import CArchive
import StrataCore

/// A libarchive disk reader used only to read extended attributes. Not thread-safe.
final class DiskAttributes {
    private let handle: OpaquePointer

    init() throws {
        guard let handle = archive_read_disk_new() else {
            throw StrataError.internalError("archive_read_disk_new failed")
        }
        self.handle = handle
        try archive_read_disk_set_symlink_physical(handle).check(handle, .internalError, "disk reader")
        // ARCHIVE_READDISK_NO_ACL | NO_FFLAGS | NO_SPARSE (archive.h); macros Swift imports as Int32.
        let behavior: Int32 = 0x0020 | 0x0040 | 0x0080
        try archive_read_disk_set_behavior(handle, behavior).check(handle, .internalError, "disk reader")
    }

    deinit { archive_read_free(handle) }

    /// The `security.*` and `user.*` attributes of `path` itself.
    /// - Throws: ``StrataError`` `.io` naming the path when they cannot be read.
    func keptXattrs(of path: String) throws -> [String: [UInt8]] {
        guard let entry = archive_entry_new() else { throw StrataError.internalError("archive_entry_new failed") }
        defer { archive_entry_free(entry) }
        archive_entry_copy_sourcepath(entry, path)
        try archive_read_disk_entry_from_file(handle, entry, -1, nil).check(
            handle, .io, "reading attributes of \(path)")
        var out: [String: [UInt8]] = [:]
        archive_entry_xattr_reset(entry)
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var length = 0
        while archive_entry_xattr_next(entry, &name, &value, &length) == ARCHIVE_OK {
            guard let key = ArchiveEntry.string(name), key.hasPrefix("security.") || key.hasPrefix("user.") else {
                continue
            }
            out[key] = value.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        }
        return out
    }

    /// `st_rdev` split into major and minor numbers, as glibc's `major`/`minor` macros do.
    static func split(device: UInt64) -> (major: UInt32, minor: UInt32) {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & 0xffff_f000)
        let minor = (device & 0xff) | ((device >> 12) & 0xffff_ff00)
        return (UInt32(truncatingIfNeeded: major), UInt32(truncatingIfNeeded: minor))
    }
}

@available(*, unavailable)
extension DiskAttributes: Sendable {}
