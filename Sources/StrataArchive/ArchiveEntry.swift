// One member of a tar archive as strata sees it: the metadata a root filesystem keeps (type,
// permission bits, numeric and symbolic owner, mtime, link target, device numbers, extended
// attributes). Read by ``DebArchive`` from a .deb's data.tar and written by ``TarWriter``.
// Access and change times, ACLs and file flags are not kept: a root filesystem template does
// not carry them.

/// A file, directory, link or special file inside an archive.
public struct ArchiveEntry: Sendable, Equatable {
    /// What the entry is.
    public enum Kind: Sendable, Equatable {
        /// A regular file; its bytes come separately (``FileContent``, or a file on disk).
        case file
        /// A directory.
        case directory
        /// A symbolic link, with its target verbatim (absolute or relative, not resolved).
        case symlink(target: String)
        /// A hard link to an earlier entry; `target` is that entry's normalised path.
        case hardlink(target: String)
        /// A character device.
        case characterDevice(major: UInt32, minor: UInt32)
        /// A block device.
        case blockDevice(major: UInt32, minor: UInt32)
        /// A named pipe.
        case fifo
    }

    /// The normalised path: relative, no leading `./` or `/`, no trailing `/`, no empty, `.`
    /// or `..` components (`usr/bin/env`); `""` for the archive's root directory (`./`).
    public var path: String
    /// The entry's type.
    public var kind: Kind
    /// Permission bits including setuid, setgid and sticky (`& 0o7777`); no file-type bits.
    public var mode: UInt32
    /// The numeric owner.
    public var uid: UInt32
    /// The numeric group.
    public var gid: UInt32
    /// The owner's name as recorded in the archive, if any.
    public var uname: String?
    /// The group's name as recorded in the archive, if any.
    public var gname: String?
    /// Modification time, seconds since the epoch.
    public var mtime: Int64
    /// The content length of a regular file; 0 for every other kind.
    public var size: UInt64
    /// Extended attributes (`security.capability`, `user.*`) by name.
    public var xattrs: [String: [UInt8]]

    /// Creates an entry; `size` and `xattrs` default to empty.
    public init(
        path: String, kind: Kind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, uname: String? = nil,
        gname: String? = nil, mtime: Int64, size: UInt64 = 0, xattrs: [String: [UInt8]] = [:]
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.uname = uname
        self.gname = gname
        self.mtime = mtime
        self.size = size
        self.xattrs = xattrs
    }
}
