// Check-in: a finished directory tree (a built template) becomes objects and a tree manifest.
// Files that are already store objects (the composed lower layer of a build, where the scripts did
// not touch them) are named by the caller and cost neither a read nor a hash; the others (what
// maintainer scripts wrote) are hashed and copied in. Symlinks
// are recorded, never followed; files with several names in the tree become one file entry and
// hardlink entries to it, but only for the groups `hardlinks` declares (packages' own hardlinks):
// two unrelated files that share a store object stay two files.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// Checks `root` in and returns the tree's id. Call under the writer lock.
    /// - Parameter knownObject: the store object a regular file of the tree is, by its path
    ///   relative to `root`, when the caller knows (a file of the composed lower layer that no
    ///   script copied up); it is recorded as that object without being read. `nil`: read it.
    /// - Parameter clampMtime: a file copied in keeps its mtime clamped to this (so two builds
    ///   give the same objects); dated 0 when `nil`.
    public func checkIn(
        directory root: String, hardlinks: Set<String> = [], knownObject: (String) -> ObjectID? = { _ in nil },
        clampMtime: Int64? = nil
    ) throws -> SHA256Digest {
        var metadataCache = [ObjectID: FileMetadata]()
        // Every path first, then in bytewise order, so which name of a hardlink group is the file
        // does not depend on the order the file system lists directories in.
        var paths = [String]()
        var pending = [""]
        while let relative = pending.popLast() {
            Interruption.checkpoint()
            paths.append(relative)
            let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
            var st = stat()
            guard lstat(absolute, &st) == 0 else { throw Self.ioError("cannot stat", absolute) }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let names = try FileManager.default.contentsOfDirectory(atPath: absolute)
                pending.append(contentsOf: names.map { relative.isEmpty ? $0 : "\(relative)/\($0)" })
            }
        }
        paths.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var entries = [TreeEntry]()
        var firstPath = [String: String]()  // "dev:ino" of a declared hardlink group → first path
        for relative in paths {
            Interruption.checkpoint()
            let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
            var st = stat()
            guard lstat(absolute, &st) == 0 else { throw Self.ioError("cannot stat", absolute) }
            let path = relative.isEmpty ? "." : relative
            let type = st.st_mode & S_IFMT
            var metadata = FileMetadata(mode: UInt32(st.st_mode) & 0o7777, uid: st.st_uid, gid: st.st_gid)
            // What an export of this tree dates the path with (files carry theirs in the object).
            let dated = clampMtime.map { min($0, Int64(st.st_mtim.tv_sec)) }
            switch type {
            case S_IFDIR:
                let fd = open(absolute, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw Self.ioError("cannot open", absolute) }
                metadata.xattrs = try Self.readXattrs(fd: fd, path: absolute)
                close(fd)
                entries.append(TreeEntry(path: path, kind: .directory, metadata: metadata, mtime: dated))
            case S_IFREG:
                let key = "\(st.st_dev):\(st.st_ino)"
                if hardlinks.contains(path), let first = firstPath[key] {
                    entries.append(TreeEntry(path: path, kind: .hardlink, metadata: metadata, target: first))
                    continue
                }
                if hardlinks.contains(path) { firstPath[key] = path }
                if let known = knownObject(path) {
                    let full = try metadataCache[known] ?? diskMetadata(ofObject: known)
                    metadataCache[known] = full
                    // Dated after the clamp (an old SOURCE_DATE_EPOCH): a clamped copy below instead.
                    if clampMtime.map({ full.mtime <= $0 }) ?? true {
                        entries.append(.file(path, object: known, size: UInt64(st.st_size), metadata: full))
                        continue
                    }
                }
                let (object, size, full) = try addObject(copying: absolute, clampMtime: clampMtime)
                entries.append(.file(path, object: object, size: size, metadata: full))
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: 4097)
                let n = readlink(absolute, &buffer, 4096)
                guard n >= 0 else { throw Self.ioError("cannot read link", absolute) }
                let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                entries.append(TreeEntry(path: path, kind: .symlink, metadata: metadata, target: target, mtime: dated))
            case S_IFCHR, S_IFBLK:
                let dev = UInt64(st.st_rdev)
                let major = UInt32(((dev >> 8) & 0xfff) | ((dev >> 32) & 0xffff_f000))
                let minor = UInt32((dev & 0xff) | ((dev >> 12) & 0xffff_ff00))
                entries.append(
                    TreeEntry(
                        path: path, kind: type == S_IFCHR ? .characterDevice : .blockDevice, metadata: metadata,
                        major: major, minor: minor, mtime: dated))
            case S_IFIFO:
                entries.append(TreeEntry(path: path, kind: .fifo, metadata: metadata, mtime: dated))
            default:
                continue  // sockets are not part of a template
            }
        }
        return try writeTree(TreeManifest(entries: entries).canonicalized())
    }

    /// The object for a file on disk (its content and its metadata), added when missing.
    private func addObject(copying path: String, clampMtime: Int64?) throws -> (ObjectID, UInt64, FileMetadata) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError("cannot open", path) }
        defer { close(fd) }
        var metadata = try Self.readMetadata(fd: fd, path: path)
        metadata.mtime = clampMtime.map { min($0, metadata.mtime) } ?? 0
        var hasher = StreamingSHA256()
        try FileReader.forEachChunk(of: path) { hasher.update($0) }
        let digest = hasher.finalize()
        let id = ObjectID(contentDigest: digest, metadata: metadata)
        if containsObject(id) { return (id, UInt64(hasher.count), metadata) }
        let temp = try makeTemporaryFile(hint: "checkin")
        do {
            try FileReader.forEachChunk(of: path) { try temp.write($0) }
            return (try addObject(temp, contentDigest: digest, size: UInt64(hasher.count), metadata: metadata), UInt64(hasher.count), metadata)
        } catch {
            temp.discard()
            throw error
        }
    }
}
