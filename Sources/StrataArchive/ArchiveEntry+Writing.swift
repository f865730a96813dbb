// Converting an ``ArchiveEntry`` into libarchive's `struct archive_entry` for TarWriter.
// Names are stored as their UTF-8 bytes (libarchive's "mbs" form; TarWriter writes headers
// under a UTF-8 locale, see UTF8Locale). Only the fields below are set, so nothing of the
// writing host (atime, ctime, inode, device) reaches the archive. Extended attributes are added in name order.
import CArchive
import StrataCore

extension ArchiveEntry {
    /// The tar member name: `./` for the root, `dir/` for directories, else the path.
    var tarName: String {
        if path.isEmpty { return "./" }
        return kind == .directory ? path + "/" : path
    }

    /// A new `archive_entry` (the caller frees it) describing this entry.
    /// - Throws: ``StrataError`` `.invalidInput` for a path that is not normalised.
    func makeNative() throws -> OpaquePointer {
        let normalised = try ArchivePath.normalise(path, what: "tar entry")
        guard normalised == path else {
            throw StrataError(
                .invalidInput, "tar entry \(ArchivePath.quoted(path)) is not normalised ('\(normalised)')")
        }
        guard let native = archive_entry_new() else { throw StrataError.internalError("archive_entry_new failed") }
        archive_entry_copy_pathname(native, tarName)
        archive_entry_set_perm(native, mode_t(mode & 0o7777))
        archive_entry_set_uid(native, Int64(uid))
        archive_entry_set_gid(native, Int64(gid))
        if let uname { archive_entry_copy_uname(native, uname) }
        if let gname { archive_entry_copy_gname(native, gname) }
        archive_entry_set_mtime(native, time_t(mtime), 0)
        switch kind {
        case .file:
            archive_entry_set_filetype(native, FileTypeBits.regular)
            archive_entry_set_size(native, Int64(size))
        case .directory:
            archive_entry_set_filetype(native, FileTypeBits.directory)
        case .symlink(let target):
            archive_entry_set_filetype(native, FileTypeBits.symlink)
            archive_entry_copy_symlink(native, target)
        case .hardlink(let target):
            archive_entry_set_filetype(native, FileTypeBits.regular)
            archive_entry_copy_hardlink(native, target)
            archive_entry_set_size(native, 0)
        case .characterDevice(let major, let minor):
            archive_entry_set_filetype(native, FileTypeBits.characterDevice)
            archive_entry_set_rdevmajor(native, dev_t(major))
            archive_entry_set_rdevminor(native, dev_t(minor))
        case .blockDevice(let major, let minor):
            archive_entry_set_filetype(native, FileTypeBits.blockDevice)
            archive_entry_set_rdevmajor(native, dev_t(major))
            archive_entry_set_rdevminor(native, dev_t(minor))
        case .fifo:
            archive_entry_set_filetype(native, FileTypeBits.fifo)
        }
        for name in xattrs.keys.sorted() {
            let value = xattrs[name] ?? []
            value.withUnsafeBytes { archive_entry_xattr_add_entry(native, name, $0.baseAddress, $0.count) }
        }
        return native
    }
}
