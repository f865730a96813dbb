// Writing a whole directory tree (a composed root filesystem) as one tar, reproducibly:
// entries in bytewise path order, mtimes clamped to SOURCE_DATE_EPOCH, hard links detected by
// (device, inode) and written as links to the first path in that order, owners as numeric ids
// only (the build host's /etc/passwd is not the image's). Sockets are skipped; nothing about
// where the tree lives (its absolute path, inode numbers, atime/ctime) reaches the output.
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// User and group names by numeric id, as a tree's /etc/passwd and /etc/group give them.
public struct OwnerNames: Sendable, Equatable {
    public var users: [UInt32: String]
    public var groups: [UInt32: String]

    public init(users: [UInt32: String] = [:], groups: [UInt32: String] = [:]) {
        self.users = users
        self.groups = groups
    }

    /// The names in `root/etc/passwd` and `root/etc/group` (the first name of an id wins).
    public init(tree root: String) {
        func read(_ path: String) -> [UInt32: String] {
            var out = [UInt32: String]()
            let text = (try? FileReader.readAll(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count >= 3, let id = UInt32(fields[2]), out[id] == nil, !fields[0].isEmpty else { continue }
                out[id] = String(fields[0])
            }
            return out
        }
        self.init(users: read("\(root)/etc/passwd"), groups: read("\(root)/etc/group"))
    }
}

extension TarWriter {
    /// Writes the tree under `root` to a new tar at `path`; `root` itself becomes `./`.
    ///
    /// - Parameters:
    ///   - root: the directory to export; symlinks inside are stored, never followed.
    ///   - path: the tar file to create.
    ///   - compression: the output compression.
    ///   - clampMtime: mtimes newer than this become this (`SOURCE_DATE_EPOCH`); none when `nil`.
    ///   - owners: user and group names by id, written beside the numeric ids (read them from the
    ///     tree's own /etc/passwd and /etc/group, never the build host's); numeric only when empty.
    ///   - hardlinks: when given, only these paths may become hardlink entries (a tree composed
    ///     from a store shares inodes between unrelated identical files, which must stay separate
    ///     files in the output); when `nil`, every shared inode is a hardlink.
    /// - Returns: the number of entries and the bytes of regular-file content written.
    /// - Throws: ``StrataError`` `.io` for file-system errors, `.invalidInput` for a file name
    ///   that is not UTF-8.
    @discardableResult
    public static func exportDirectory(
        _ root: String, to path: String, compression: TarCompression, clampMtime: Int64?,
        owners: OwnerNames = OwnerNames(), hardlinks: Set<String>? = nil
    ) throws -> (entries: Int, bytes: UInt64) {
        var paths: [String] = [""]
        try collect(root: root, relative: "", into: &paths)
        paths.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }

        let writer = try TarWriter(path: path, compression: compression)
        let attributes = try DiskAttributes()
        var firstPathOfInode: [InodeKey: String] = [:]
        var written = 0
        var bytes: UInt64 = 0
        for relative in paths {
            let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
            guard let info = try FileSystemEntry.inspect(absolute, attributes: attributes) else { continue }
            var kind = info.kind
            if info.kind == .file && info.linkCount > 1 && hardlinks.map({ $0.contains(relative) }) ?? true {
                let key = InodeKey(device: info.device, inode: info.inode)
                if let first = firstPathOfInode[key] {
                    kind = .hardlink(target: first)
                } else {
                    firstPathOfInode[key] = relative
                }
            }
            let isFile = kind == .file
            let mtime = info.mtime
            let entry = ArchiveEntry(
                path: relative, kind: kind, mode: info.mode, uid: info.uid, gid: info.gid,
                uname: owners.users[info.uid], gname: owners.groups[info.gid],
                mtime: clampMtime.map { min($0, mtime) } ?? mtime,
                size: isFile ? info.size : 0, xattrs: kind == info.kind ? info.xattrs : [:])
            try writer.add(entry, contentsOf: isFile ? absolute : nil)
            written += 1
            bytes += entry.size
        }
        try writer.finish()
        return (written, bytes)
    }

    private struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// Appends every path below `root/relative` (depth first, unsorted) to `paths`.
    private static func collect(root: String, relative: String, into paths: inout [String]) throws {
        for child in try children(of: relative.isEmpty ? root : "\(root)/\(relative)") {
            let path = relative.isEmpty ? child.name : "\(relative)/\(child.name)"
            paths.append(path)
            if child.isDirectory { try collect(root: root, relative: path, into: &paths) }
        }
    }

    /// The names in `directory` (without `.` and `..`) and whether each is a directory; the
    /// stream is closed before returning, so deep trees do not hold one descriptor per level.
    private static func children(of directory: String) throws -> [(name: String, isDirectory: Bool)] {
        guard let stream = opendir(directory) else {
            throw StrataError(.io, "opendir \(directory): \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }
        var children: [(name: String, isDirectory: Bool)] = []
        while true {
            errno = 0
            guard let dirent = readdir(stream) else {
                if errno != 0 { throw StrataError(.io, "readdir \(directory): \(String(cString: strerror(errno)))") }
                return children
            }
            let bytes = withUnsafeBytes(of: dirent.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes == [0x2e] || bytes == [0x2e, 0x2e] { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw StrataError(.invalidInput, "\(directory): a file name is not UTF-8 (\(bytes))")
            }
            var isDirectory = dirent.pointee.d_type == UInt8(DT_DIR)
            if dirent.pointee.d_type == UInt8(DT_UNKNOWN) {
                var info = stat()
                guard lstat("\(directory)/\(name)", &info) == 0 else {
                    throw StrataError(.io, "lstat \(directory)/\(name): \(String(cString: strerror(errno)))")
                }
                isDirectory = UInt32(info.st_mode) & FileTypeBits.mask == FileTypeBits.directory
            }
            children.append((name, isDirectory))
        }
    }
}
