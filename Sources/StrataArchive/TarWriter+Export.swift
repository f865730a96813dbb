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
        self.init(
            passwd: (try? FileReader.readAll("\(root)/etc/passwd")) ?? [],
            group: (try? FileReader.readAll("\(root)/etc/group")) ?? [])
    }

    /// The names in the bytes of a passwd and a group file (the first name of an id wins).
    public init(passwd: [UInt8], group: [UInt8]) {
        func parse(_ bytes: [UInt8]) -> [UInt32: String] {
            var out = [UInt32: String]()
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count >= 3, let id = UInt32(fields[2]), out[id] == nil, !fields[0].isEmpty else { continue }
                out[id] = String(fields[0])
            }
            return out
        }
        self.init(users: parse(passwd), groups: parse(group))
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
    ) throws -> (entries: Int, bytes: UInt64, digest: SHA256Digest) {
        var paths: [String] = [""]
        try collect(root: root, relative: "", into: &paths)
        paths.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }

        var export = try Export(path: path, compression: compression, clampMtime: clampMtime, owners: owners)
        for relative in paths {
            let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
            guard let info = try FileSystemEntry.inspect(absolute, attributes: export.attributes) else { continue }
            let linkable = info.kind == .file && info.linkCount > 1 && hardlinks.map({ $0.contains(relative) }) ?? true
            try export.add(
                relative, info, linkKey: linkable ? InodeKey(device: info.device, inode: info.inode) : nil,
                content: absolute)
        }
        return try export.finish()
    }

    /// A path of a tree that is described rather than laid out: a regular file's content and
    /// metadata are a file on disk (a store object: mode, owner, xattrs and date applied), anything
    /// else is the entry itself.
    public struct DescribedPath: Sendable {
        public enum Source: Sendable {
            /// The content, mode, owner, xattrs and mtime of this file on disk.
            case file(String)
            /// Written as it is (directories, symlinks, devices, fifos; no content).
            case entry(ArchiveEntry)
        }
        /// Relative, "" for the root.
        public var path: String
        public var source: Source
        /// Paths with the same key share an inode (a hardlink group, a store object); `nil` for
        /// a file that must stay a file of its own.
        public var linkKey: String?

        public init(path: String, source: Source, linkKey: String?) {
            self.path = path
            self.source = source
            self.linkKey = linkKey
        }
    }

    /// Writes described paths to a new tar at `path` exactly as ``exportDirectory(_:to:compression:clampMtime:owners:hardlinks:)``
    /// writes a directory holding them: the same order (bytewise by path), the first path of a
    /// link key a file and the later ones hardlinks to it, mtimes clamped.
    /// - Parameter paths: in any order; each path once.
    @discardableResult
    public static func exportDescribed(
        _ paths: [DescribedPath], to path: String, compression: TarCompression, clampMtime: Int64?,
        owners: OwnerNames = OwnerNames()
    ) throws -> (entries: Int, bytes: UInt64, digest: SHA256Digest) {
        let sorted = paths.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        var export = try Export(path: path, compression: compression, clampMtime: clampMtime, owners: owners)
        for described in sorted {
            switch described.source {
            case .file(let file):
                guard let info = try FileSystemEntry.inspect(file, attributes: export.attributes), info.kind == .file else {
                    throw StrataError(.io, "\(file): not a regular file (the content of \(described.path))")
                }
                try export.add(described.path, info, linkKey: described.linkKey, content: file)
            case .entry(var entry):
                entry.path = described.path
                try export.addDescribed(entry)
            }
        }
        return try export.finish()
    }

    /// The loop both exports share: entries in order, hardlink groups by key, dates clamped.
    private struct Export {
        let writer: TarWriter
        let attributes: DiskAttributes
        let clampMtime: Int64?
        let owners: OwnerNames
        var firstPathOfKey: [AnyHashable: String] = [:]
        var written = 0
        var bytes: UInt64 = 0

        init(path: String, compression: TarCompression, clampMtime: Int64?, owners: OwnerNames) throws {
            writer = try TarWriter(path: path, compression: compression)
            attributes = try DiskAttributes()
            self.clampMtime = clampMtime
            self.owners = owners
        }

        mutating func add(_ relative: String, _ info: FileSystemEntry, linkKey: AnyHashable?, content: String) throws {
            var kind = info.kind
            if info.kind == .file, let linkKey {
                if let first = firstPathOfKey[linkKey] {
                    kind = .hardlink(target: first)
                } else {
                    firstPathOfKey[linkKey] = relative
                }
            }
            let isFile = kind == .file
            let entry = ArchiveEntry(
                path: relative, kind: kind, mode: info.mode, uid: info.uid, gid: info.gid,
                uname: owners.users[info.uid], gname: owners.groups[info.gid],
                mtime: clampMtime.map { min($0, info.mtime) } ?? info.mtime,
                size: isFile ? info.size : 0, xattrs: kind == info.kind ? info.xattrs : [:])
            try writer.add(entry, contentsOf: isFile ? content : nil)
            written += 1
            bytes += entry.size
        }

        mutating func addDescribed(_ described: ArchiveEntry) throws {
            var entry = described
            entry.uname = owners.users[entry.uid]
            entry.gname = owners.groups[entry.gid]
            entry.mtime = clampMtime.map { min($0, entry.mtime) } ?? entry.mtime
            entry.size = 0
            try writer.add(entry, contentsOf: nil)
            written += 1
        }

        func finish() throws -> (entries: Int, bytes: UInt64, digest: SHA256Digest) {
            try writer.finish()
            guard let digest = writer.digest else { throw StrataError.internalError("\(writer.path): no digest after finishing") }
            return (written, bytes, digest)
        }
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
