// A listing of an installed root filesystem, to compare the tree one installer made with the
// tree another made (strata's against dnf's or mmdebstrap's). For every path: its type,
// permission bits, numeric owner and the names the *tree's own* /etc/passwd and /etc/group give
// it (never the host's), symlink target, content digest, the `security.capability` xattr, and
// which paths share an inode. Modification times are recorded but compared only on request,
// since files that scriptlets write get the time of the install.
import CStrataShim
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Every path of a tree and what is there, sorted by path.
public struct TreeListing: Sendable, Hashable {
    /// One path of the tree.
    public struct Entry: Sendable, Hashable, CustomStringConvertible {
        /// The file type.
        public enum Kind: String, Sendable, Hashable {
            case regular, directory, symlink, characterDevice, blockDevice, fifo, socket
        }

        /// Relative to the root, without a leading slash (`etc/passwd`); the root itself is `.`.
        public let path: String
        /// The type.
        public let kind: Kind
        /// Permission bits with setuid, setgid and sticky (`st_mode & 07777`).
        public let mode: UInt32
        /// The numeric owner.
        public let uid: UInt32
        /// The numeric group.
        public let gid: UInt32
        /// The owner's name in the tree's /etc/passwd, `nil` when it has none.
        public let user: String?
        /// The group's name in the tree's /etc/group, `nil` when it has none.
        public let group: String?
        /// A symlink's target, verbatim.
        public let symlinkTarget: String?
        /// A regular file's size in bytes.
        public let size: Int64?
        /// A regular file's SHA-256.
        public let sha256: String?
        /// The `security.capability` xattr of a regular file, lowercase hex.
        public let capability: String?
        /// For a regular file with other names in the tree: the first of them in path order
        /// (the same for every member, so groups compare across trees whatever the inodes).
        public let hardlinkGroup: String?
        /// `major:minor` of a device node.
        public let device: String?
        /// The modification time, seconds since the epoch.
        public let modificationTime: Int64

        /// `path kind mode uid:gid(user:group) …` on one line, for messages.
        public var description: String {
            var words = [path, kind.rawValue, String(mode, radix: 8), "\(uid):\(gid)(\(user ?? "?"):\(group ?? "?"))"]
            if let symlinkTarget { words.append("-> \(symlinkTarget)") }
            if let sha256 { words.append("sha256:\(sha256.prefix(12))") }
            if let capability { words.append("caps:\(capability)") }
            if let hardlinkGroup, hardlinkGroup != path { words.append("link:\(hardlinkGroup)") }
            if let device { words.append("dev:\(device)") }
            return words.joined(separator: " ")
        }
    }

    /// The tree's root directory (absolute) when it was read.
    public let root: String
    /// Every path, sorted.
    public let entries: [Entry]

    /// The entry for `path` (relative, no leading slash).
    public subscript(path: String) -> Entry? {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].path < path { low = middle + 1 } else { high = middle }
        }
        return low < entries.count && entries[low].path == path ? entries[low] : nil
    }

    /// The paths, sorted.
    public var paths: [String] { entries.map(\.path) }

    /// Reads every path under `root`, without following symlinks or crossing into other mounts.
    ///
    /// - Parameter root: the tree's root directory.
    /// - Returns: the listing.
    /// - Throws: ``StrataError`` `.notFound` when `root` is not a directory, `.io` when a path
    ///   cannot be read.
    public static func read(root: String) throws -> TreeListing {
        var rootStat = stat()
        guard lstat(root, &rootStat) == 0, (rootStat.st_mode & S_IFMT) == S_IFDIR else {
            throw StrataError(.notFound, "cannot list '\(root)': not a directory")
        }
        let users = idNames(file: "\(root)/etc/passwd")
        let groups = idNames(file: "\(root)/etc/group")
        var raw: [(entry: PartialEntry, inode: UInt64, links: UInt64)] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
            var st = stat()
            guard lstat(absolute, &st) == 0 else {
                throw StrataError(.io, "cannot lstat \(absolute): \(StrataError.reason(errno: errno))")
            }
            let kind = Self.kind(of: st.st_mode)
            let entry = try PartialEntry(
                absolute: absolute, relative: relative.isEmpty ? "." : relative, st: st, kind: kind)
            raw.append((entry, UInt64(st.st_ino), UInt64(st.st_nlink)))
            if kind == .directory, relative.isEmpty || st.st_dev == rootStat.st_dev {
                let children: [String]
                do {
                    children = try FileManager.default.contentsOfDirectory(atPath: absolute)
                } catch {
                    throw StrataError(.io, "cannot read directory \(absolute)", cause: StrataError(describing: error))
                }
                pending += children.map { relative.isEmpty ? $0 : "\(relative)/\($0)" }
            }
        }
        raw.sort { $0.entry.path < $1.entry.path }
        var firstPathOfInode: [UInt64: String] = [:]
        var inodeCount: [UInt64: Int] = [:]
        for item in raw where item.entry.kind == .regular && item.links > 1 {
            if firstPathOfInode[item.inode] == nil { firstPathOfInode[item.inode] = item.entry.path }
            inodeCount[item.inode, default: 0] += 1
        }
        let entries = raw.map { item -> Entry in
            let e = item.entry
            let group = (inodeCount[item.inode] ?? 0) > 1 && e.kind == .regular ? firstPathOfInode[item.inode] : nil
            return Entry(
                path: e.path, kind: e.kind, mode: e.mode, uid: e.uid, gid: e.gid, user: users[e.uid],
                group: groups[e.gid], symlinkTarget: e.symlinkTarget, size: e.size, sha256: e.sha256,
                capability: e.capability, hardlinkGroup: group, device: e.device, modificationTime: e.mtime)
        }
        return TreeListing(root: root, entries: entries)
    }

    /// What one `lstat` and a read give, before hardlink groups and names are known.
    private struct PartialEntry {
        let path: String
        let kind: Entry.Kind
        let mode: UInt32
        let uid: UInt32
        let gid: UInt32
        let symlinkTarget: String?
        let size: Int64?
        let sha256: String?
        let capability: String?
        let device: String?
        let mtime: Int64

        init(absolute: String, relative: String, st: stat, kind: Entry.Kind) throws {
            path = relative
            self.kind = kind
            mode = UInt32(st.st_mode & 0o7777)
            uid = st.st_uid
            gid = st.st_gid
            mtime = Int64(st.st_mtim.tv_sec)
            switch kind {
            case .symlink:
                symlinkTarget = try FileManager.default.destinationOfSymbolicLink(atPath: absolute)
            default:
                symlinkTarget = nil
            }
            if kind == .regular {
                size = Int64(st.st_size)
                sha256 = try SHA256Digest.of(file: absolute).hex
                capability = try TreeListing.capabilityHex(of: absolute)
            } else {
                size = nil
                sha256 = nil
                capability = nil
            }
            if kind == .characterDevice || kind == .blockDevice {
                // glibc's major()/minor() are macros Swift cannot call.
                let dev = UInt64(st.st_rdev)
                let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
                let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
                device = "\(major):\(minor)"
            } else {
                device = nil
            }
        }
    }

    private static func kind(of mode: mode_t) -> Entry.Kind {
        switch mode & S_IFMT {
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        case S_IFCHR: .characterDevice
        case S_IFBLK: .blockDevice
        case S_IFIFO: .fifo
        case S_IFSOCK: .socket
        default: .regular
        }
    }

    /// id → the first name a passwd- or group-format file gives it; empty when the file is missing.
    static func idNames(file: String) -> [UInt32: String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [:] }
        var names: [UInt32: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, let id = UInt32(fields[2]), names[id] == nil else { continue }
            names[id] = String(fields[0])
        }
        return names
    }

    /// The `security.capability` xattr of a regular file as hex, `nil` when it has none.
    static func capabilityHex(of path: String) throws -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw StrataError(.io, "cannot open \(path): \(StrataError.reason(errno: errno))") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let size = buffer.withUnsafeMutableBytes {
            strata_fgetxattr(fd, "security.capability", $0.baseAddress, $0.count)
        }
        if size < 0 {
            if errno == ENODATA || errno == ENOTSUP { return nil }
            throw StrataError(.io, "cannot read security.capability of \(path): \(StrataError.reason(errno: errno))")
        }
        return buffer.prefix(size).map { String(format: "%02x", $0) }.joined()
    }
}
