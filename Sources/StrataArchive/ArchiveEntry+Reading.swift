// Converting libarchive's `struct archive_entry` as a tar reader fills it into an
// ``ArchiveEntry``, normalising and checking its paths (see ArchivePath.swift).
import CArchive
import StrataCore

extension ArchiveEntry {
    /// The entry libarchive just read.
    ///
    /// - Parameters:
    ///   - native: the `archive_entry` from `archive_read_next_header`.
    ///   - what: names the archive and member in errors (`"foo.deb: data.tar.xz"`).
    /// - Throws: ``StrataError`` `.invalidInput` for a path or hardlink target that is not UTF-8
    ///   or contains `..` or NUL, and for sockets and unknown file types.
    init(reading native: OpaquePointer, what: String) throws {
        guard let raw = Self.string(archive_entry_pathname(native)) ?? Self.string(archive_entry_pathname_utf8(native))
        else { throw StrataError(.invalidInput, "\(what): a member path is missing or not UTF-8") }
        let path = try ArchivePath.normalise(raw, what: what)
        let member = "\(what): member \(ArchivePath.quoted(raw))"

        let kind: Kind
        let type = UInt32(archive_entry_filetype(native))
        if let link = archive_entry_hardlink(native) {
            guard let target = Self.string(link) else {
                throw StrataError(.invalidInput, "\(member): hard link target is not UTF-8")
            }
            let normalised = try ArchivePath.normalise(target, what: "\(member): hard link target")
            guard !normalised.isEmpty else { throw StrataError(.invalidInput, "\(member): hard link to the root") }
            kind = .hardlink(target: normalised)
        } else {
            switch type {
            case FileTypeBits.regular: kind = .file
            case FileTypeBits.directory: kind = .directory
            case FileTypeBits.symlink:
                guard
                    let target = Self.string(archive_entry_symlink(native))
                        ?? Self.string(archive_entry_symlink_utf8(native)),
                    !target.isEmpty
                else { throw StrataError(.invalidInput, "\(member): symlink target is missing or not UTF-8") }
                kind = .symlink(target: target)
            case FileTypeBits.characterDevice:
                kind = .characterDevice(
                    major: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(native)),
                    minor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(native)))
            case FileTypeBits.blockDevice:
                kind = .blockDevice(
                    major: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(native)),
                    minor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(native)))
            case FileTypeBits.fifo: kind = .fifo
            default:
                throw StrataError(.invalidInput, "\(member): unsupported file type 0o\(String(type, radix: 8))")
            }
        }
        if kind != .directory && path.isEmpty {
            throw StrataError(.invalidInput, "\(member): only a directory may stand for the root")
        }
        let uid = archive_entry_uid(native)
        let gid = archive_entry_gid(native)
        guard uid >= 0, uid <= Int64(UInt32.max), gid >= 0, gid <= Int64(UInt32.max) else {
            throw StrataError(.invalidInput, "\(member): owner \(uid):\(gid) out of range")
        }
        let size = archive_entry_size_is_set(native) != 0 ? archive_entry_size(native) : 0
        guard size >= 0 else { throw StrataError(.invalidInput, "\(member): negative size") }

        var xattrs: [String: [UInt8]] = [:]
        archive_entry_xattr_reset(native)
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var length = 0
        while archive_entry_xattr_next(native, &name, &value, &length) == ARCHIVE_OK {
            guard let key = Self.string(name) else { continue }
            xattrs[key] = value.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        }

        self.init(
            path: path, kind: kind, mode: UInt32(archive_entry_perm(native)) & 0o7777,
            uid: UInt32(uid), gid: UInt32(gid),
            uname: Self.string(archive_entry_uname(native)), gname: Self.string(archive_entry_gname(native)),
            mtime: Int64(archive_entry_mtime(native)), size: kind == .file ? UInt64(size) : 0, xattrs: xattrs)
    }

    /// A C string decoded strictly as UTF-8: `nil` for a null pointer or invalid bytes.
    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.flatMap { String(validatingCString: $0) }
    }
}
