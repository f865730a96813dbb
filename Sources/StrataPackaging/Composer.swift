// Compose: lay out the files of every package of a template in one directory, each regular file
// a hardlink to its store object (no copy, no unpacking), with /usr merged on the way: paths
// under bin/, sbin/, lib*/ are placed under usr/ and the top-level names become symlinks, so
// usrmerge finds a merged system and never has to convert the tree (it cannot on overlayfs).
// Every write goes through RootedPath, so no entry can land outside the tree.
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// One thing a package puts in a tree: the one file-entry model from import to compose, whatever
/// the package format.
public struct PackageEntry: Sendable {
    public enum Kind: Sendable {
        case directory
        /// A regular file: hardlink the store object at this path.
        case file(object: String)
        case symlink(target: String)
        /// Another path of the same package, already placed.
        case hardlink(target: String)
        case characterDevice(major: UInt32, minor: UInt32)
        case blockDevice(major: UInt32, minor: UInt32)
        case fifo
    }

    /// Relative, without a leading slash, as the package names it (before merged /usr).
    public var path: String
    public var kind: Kind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// The package's date of the path (the export uses it while the path is as the package left it).
    public var mtime: Int64?
    /// The owner's names when the package names its owners instead of numbering them (rpm): the
    /// packager resolves them against the tree's own passwd and group once its scripts made them.
    public var owner: (user: String, group: String)?

    public init(
        path: String, kind: Kind, mode: UInt32, uid: UInt32, gid: UInt32, mtime: Int64? = nil,
        owner: (user: String, group: String)? = nil
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.owner = owner
    }
}

public struct Composer {
    public let tree: RootedPath
    public let layout: TreeLayout
    public private(set) var copiesForLinkLimit = 0
    /// Copy regular files instead of hardlinking store objects: for placing files into a view
    /// that scripts write to (the overlay's merged directory), where a hardlink would expose the
    /// store object itself.
    public var copyFiles = false
    /// Keep symlinks out of the tree and hand them to ``placeSymlinks(_:in:)`` later: a
    /// build composes its lower layer on the store's file system, where every symlink is a new
    /// inode, and puts them in the overlay's upper layer (tmpfs) instead. Every path resolves as
    /// it would have: only a symlink whose path runs through real directories is kept back (so its
    /// path is where it lands), and all are placed at once when a later entry's parent is missing
    /// (it may be one of them, or lie beyond one), its path or a hardlink's target runs through a
    /// symlink already placed, or a hardlink names one; a later entry at a kept symlink's path
    /// replaces it, as it would have.
    public var deferSymlinks = false
    /// The symlinks kept back, by laid-out path.
    public private(set) var deferred: [String: PackageEntry] = [:]
    /// The symlinks placed in this tree while others are kept back, by path.
    private var placedSymlinks = Set<String>()

    public init(root: String, layout: TreeLayout = .mergedUsr) throws {
        tree = try RootedPath(root: root)
        self.layout = layout
    }

    public mutating func place(_ entry: PackageEntry, at override: String? = nil) throws {
        Interruption.checkpoint()
        // A package shipping the merged-/usr links themselves (`bin -> usr/bin`): they are made
        // by linkMergedDirectories; folding them under usr/ would point usr/bin at itself.
        if case .symlink = entry.kind, layout.mergedDirectories.contains(override ?? entry.path) { return }
        let path = layout.path(override ?? entry.path)
        if entry.path.isEmpty { return }  // the package's "./": the root already exists
        var keepBack = deferSymlinks
        if deferSymlinks {
            var hardlinkTarget: String?
            if case .hardlink(let target) = entry.kind { hardlinkTarget = layout.path(target) }
            if throughPlacedSymlink(path) || hardlinkTarget.map(throughPlacedSymlink) == true {
                try placeDeferred()
                keepBack = false
            }
            deferred[path] = nil  // replaced by this entry, whatever it is
            placedSymlinks.remove(path)
            if let hardlinkTarget, deferred[hardlinkTarget] != nil { try placeDeferred() }
        }
        let (dir, leaf) = try openParent(of: path)
        defer { Glibc.close(dir) }
        switch entry.kind {
        case .directory:
            var st = stat()
            if fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                if (st.st_mode & S_IFMT) != S_IFDIR { try removeLeaf(dir, leaf, path) } else {
                    try setOwnerAndMode(dir, leaf, entry, path)
                    return
                }
            }
            guard mkdirat(dir, leaf, 0o700) == 0 else { throw failure("cannot create directory", path) }
            try setOwnerAndMode(dir, leaf, entry, path)
        case .file(let object):
            try replaceExisting(dir, leaf, path)
            if copyFiles {
                try copy(object, to: dir, leaf, entry, path)
            } else if linkat(AT_FDCWD, object, dir, leaf, 0) != 0 {
                guard errno == EMLINK else { throw failure("cannot link \(object)", path) }
                try copy(object, to: dir, leaf, entry, path)
                copiesForLinkLimit += 1
            }
        case .symlink(let target):
            try replaceExisting(dir, leaf, path)
            if keepBack {
                deferred[path] = entry
                return
            }
            try makeSymlink(target, dir, leaf, entry, path)
            if deferSymlinks { placedSymlinks.insert(path) }
        case .hardlink(let target):
            let (targetDir, targetLeaf) = try openParent(of: layout.path(target))
            defer { Glibc.close(targetDir) }
            try replaceExisting(dir, leaf, path)
            guard linkat(targetDir, targetLeaf, dir, leaf, 0) == 0 else { throw failure("cannot link to \(target)", path) }
        case .characterDevice(let major, let minor), .blockDevice(let major, let minor):
            let type: mode_t
            if case .characterDevice = entry.kind { type = S_IFCHR } else { type = S_IFBLK }
            try replaceExisting(dir, leaf, path)
            guard mknodat(dir, leaf, type | 0o600, Self.device(major, minor)) == 0 else {
                throw failure("cannot create device node", path)
            }
            try setOwnerAndMode(dir, leaf, entry, path)
            try date(dir, leaf, entry, path)
        case .fifo:
            try replaceExisting(dir, leaf, path)
            guard mknodat(dir, leaf, S_IFIFO | 0o600, 0) == 0 else { throw failure("cannot create fifo", path) }
            try setOwnerAndMode(dir, leaf, entry, path)
            try date(dir, leaf, entry, path)
        }
    }

    /// Places symlinks kept back by a composer (``deferred``) into `root`, the merged view of the
    /// tree it composed, in path order.
    public static func placeSymlinks(_ symlinks: [String: PackageEntry], in root: String) throws {
        guard !symlinks.isEmpty else { return }
        let view = try Composer(root: root)
        defer { view.close() }
        for path in symlinks.keys.sorted() {
            guard let entry = symlinks[path], case .symlink(let target) = entry.kind else { continue }
            let (dir, leaf) = try view.tree.openParent(of: path)
            defer { Glibc.close(dir) }
            try view.makeSymlink(target, dir, leaf, entry, path)
        }
    }

    /// Opens `path`'s parent. With symlinks kept back, a missing parent may be one of them, or
    /// lie beyond one: they are all placed first, and the path resolves as it would have.
    /// (A kept-back symlink's path has nothing in the tree: a parent that exists is none of them.)
    private mutating func openParent(of path: String) throws -> (fd: Int32, leaf: String) {
        guard deferSymlinks, !deferred.isEmpty else { return try tree.openParent(of: path) }
        if let found = try tree.openExistingParent(of: path) { return found }
        try placeDeferred()
        return try tree.openParent(of: path)
    }

    /// Places every kept-back symlink in this tree now, in path order.
    private mutating func placeDeferred() throws {
        let all = deferred
        deferred = [:]
        for path in all.keys.sorted() {
            guard let entry = all[path], case .symlink(let target) = entry.kind else { continue }
            let (dir, leaf) = try tree.openParent(of: path)
            defer { Glibc.close(dir) }
            try makeSymlink(target, dir, leaf, entry, path)
            placedSymlinks.insert(path)
        }
    }

    /// Whether a parent of `path`, as written, is a symlink placed while others are kept back.
    private func throughPlacedSymlink(_ path: String) -> Bool {
        guard !placedSymlinks.isEmpty else { return false }
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix = prefix.isEmpty ? String(component) : "\(prefix)/\(component)"
            if placedSymlinks.contains(prefix) { return true }
        }
        return false
    }

    private func makeSymlink(_ target: String, _ dir: Int32, _ leaf: String, _ entry: PackageEntry, _ path: String) throws {
        guard symlinkat(target, dir, leaf) == 0 else { throw failure("cannot create symlink", path) }
        _ = fchownat(dir, leaf, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW)
        try date(dir, leaf, entry, path)
    }

    /// The merged-/usr symlinks (`bin -> usr/bin`) for every folded directory that exists.
    public func linkMergedDirectories() throws {
        for name in layout.mergedDirectories {
            var st = stat()
            // usr/NAME in the tree, or kept back to be placed later (a package's `usr/lib64 -> lib`).
            guard lstat("\(tree.root)/usr/\(name)", &st) == 0 || deferred["usr/\(name)"] != nil,
                lstat("\(tree.root)/\(name)", &st) != 0
            else { continue }
            guard symlink("usr/\(name)", "\(tree.root)/\(name)") == 0 else { throw failure("cannot create symlink", name) }
        }
    }

    public func close() { tree.close() }

    public static func device(_ major: UInt32, _ minor: UInt32) -> dev_t {
        let ma = UInt64(major)
        let mi = UInt64(minor)
        return dev_t(((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff))
    }

    private func replaceExisting(_ dir: Int32, _ leaf: String, _ path: String) throws {
        var st = stat()
        guard fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        // A later package replaces a file of an earlier one (dpkg's Replaces); a directory stays.
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw StrataError(.invalidInput, "\(path): a directory is in the way of a file")
        }
        try removeLeaf(dir, leaf, path)
    }

    private func removeLeaf(_ dir: Int32, _ leaf: String, _ path: String) throws {
        guard unlinkat(dir, leaf, 0) == 0 else { throw failure("cannot replace", path) }
    }

    /// Dates a symlink or special file as its package does (files carry it in their object;
    /// directories keep the build's time, as dpkg leaves them).
    private func date(_ dir: Int32, _ leaf: String, _ entry: PackageEntry, _ path: String) throws {
        guard let mtime = entry.mtime else { return }
        let date = timespec(tv_sec: Int(mtime), tv_nsec: 0)
        var times = [date, date]
        guard utimensat(dir, leaf, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("cannot set the date of", path) }
    }

    private func setOwnerAndMode(_ dir: Int32, _ leaf: String, _ entry: PackageEntry, _ path: String) throws {
        // chown first: it clears setuid/setgid bits, which chmod then sets.
        if fchownat(dir, leaf, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0, geteuid() == 0 {
            throw failure("cannot set owner", path)
        }
        guard fchmodat(dir, leaf, mode_t(entry.mode & 0o7777), 0) == 0 else { throw failure("cannot set mode", path) }
    }

    private func copy(_ source: String, to dir: Int32, _ leaf: String, _ entry: PackageEntry, _ path: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("cannot open \(source)", path) }
        defer { Glibc.close(input) }
        let output = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw failure("cannot create", path) }
        defer { Glibc.close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0, buffer.withUnsafeBytes({ write(output, $0.baseAddress, n) }) == n else {
                throw failure("cannot copy \(source)", path)
            }
        }
        var st = stat()
        fstat(input, &st)
        _ = fchown(output, st.st_uid, st.st_gid)
        _ = fchmod(output, st.st_mode & 0o7777)
        var times = [st.st_mtim, st.st_mtim]
        _ = futimens(output, &times)
    }

    private func failure(_ what: String, _ path: String) -> StrataError {
        StrataError(.io, "\(path): \(what): \(String(cString: strerror(errno)))")
    }
}
