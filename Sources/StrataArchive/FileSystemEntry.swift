// What TarWriter.exportDirectory needs to know about one path on disk: lstat(2) and readlink(2)
// from Glibc (neither follows symlinks), and the extended attributes and device numbers from
// libarchive's disk reader (DiskAttributes.swift), because Swift's Glibc module exports neither
// llistxattr/lgetxattr (sys/xattr.h) nor major/minor (sys/sysmacros.h).
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// The lstat(2) fields exportDirectory uses, plus the link target and the kept xattrs.
struct FileSystemEntry {
    var kind: ArchiveEntry.Kind
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtime: Int64
    var size: UInt64
    var device: UInt64
    var inode: UInt64
    var linkCount: UInt64
    var xattrs: [String: [UInt8]]

    /// Describes `path` itself (a symlink is not followed); `nil` for a socket, which a tar
    /// cannot hold.
    /// - Throws: ``StrataError`` `.io` naming the path when a call fails.
    static func inspect(_ path: String, attributes: DiskAttributes) throws -> FileSystemEntry? {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw Self.error("lstat", path) }
        let kind: ArchiveEntry.Kind
        switch UInt32(info.st_mode) & FileTypeBits.mask {
        case FileTypeBits.regular: kind = .file
        case FileTypeBits.directory: kind = .directory
        case FileTypeBits.symlink: kind = .symlink(target: try readLink(path))
        case FileTypeBits.characterDevice:
            let (major, minor) = DiskAttributes.split(device: UInt64(info.st_rdev))
            kind = .characterDevice(major: major, minor: minor)
        case FileTypeBits.blockDevice:
            let (major, minor) = DiskAttributes.split(device: UInt64(info.st_rdev))
            kind = .blockDevice(major: major, minor: minor)
        case FileTypeBits.fifo: kind = .fifo
        default: return nil
        }
        return FileSystemEntry(
            kind: kind, mode: UInt32(info.st_mode) & 0o7777, uid: info.st_uid, gid: info.st_gid,
            mtime: Int64(info.st_mtim.tv_sec), size: kind == .file ? UInt64(info.st_size) : 0,
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), linkCount: UInt64(info.st_nlink),
            xattrs: try attributes.keptXattrs(of: path))
    }

    private static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { throw error("readlink", path) }
        guard let target = String(validating: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) else {
            throw StrataError(.invalidInput, "\(path): symlink target is not UTF-8")
        }
        return target
    }

    private static func error(_ call: String, _ path: String) -> StrataError {
        StrataError(.io, "\(call) \(path): \(String(cString: strerror(errno)))")
    }
}
