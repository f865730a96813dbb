// Creating files inside a root directory without ever leaving it. Package trees come from
// untrusted archives and maintainer scripts may have left symlinks behind: every parent
// component is opened with O_NOFOLLOW, and a symlink met on the way is resolved *inside* the
// root (an absolute target restarts at the root, `..` stops at it), as openat2(RESOLVE_IN_ROOT)
// would. So `etc/x -> /` or `a -> ../../..` can never lead a write out of the tree.
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public struct RootedPath {
    public let root: String
    private let rootFD: Int32

    public init(root: String) throws {
        self.root = root
        rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw StrataError(.io, "cannot open \(root): \(String(cString: strerror(errno)))") }
    }

    public func close() { Glibc.close(rootFD) }

    /// Opens the directory that will hold `path`'s last component, creating missing parents
    /// (mode 0755, root-owned, as dpkg creates implicit directories). Returns the directory's
    /// descriptor (caller closes) and the leaf name.
    public func openParent(of path: String) throws -> (fd: Int32, leaf: String) {
        guard let found = try openParent(of: path, create: true) else {
            throw StrataError.internalError("\(path): no parent directory after creating it")
        }
        return found
    }

    /// ``openParent(of:)`` that creates nothing: `nil` when a parent directory is missing.
    func openExistingParent(of path: String) throws -> (fd: Int32, leaf: String)? {
        try openParent(of: path, create: false)
    }

    private func openParent(of path: String, create: Bool) throws -> (fd: Int32, leaf: String)? {
        var components = path.split(separator: "/").map(String.init)
        guard let leaf = components.popLast() else { throw StrataError(.invalidInput, "empty path") }
        guard leaf != "..", leaf != "." else { throw StrataError(.invalidInput, "\(path): refuses '\(leaf)' as a name") }
        guard let dir = try openDirectory(components, create: create, what: path) else { return nil }
        return (dir, leaf)
    }

    /// Writes `bytes` to `path` inside the root: parents made as ``openParent(of:)`` makes them,
    /// a temporary name beside it filled, then renamed over `path` (a symlink there is replaced,
    /// never followed). Not flushed: a build's tree is thrown away when the build dies.
    public func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        Interruption.checkpoint()
        let (dir, leaf) = try openParent(of: path)
        defer { Glibc.close(dir) }
        let temp = ".\(leaf).strata-new"
        unlinkat(dir, temp, 0)
        let fd = openat(dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot create", path) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + written }, bytes.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let error = failure("cannot write", path)
                Glibc.close(fd)
                unlinkat(dir, temp, 0)
                throw error
            }
            written += n
        }
        _ = fchmod(fd, mode)
        Glibc.close(fd)
        guard renameat(dir, temp, dir, leaf) == 0 else {
            let error = failure("cannot rename into place", path)
            unlinkat(dir, temp, 0)
            throw error
        }
    }

    /// Removes the file (or symlink, never what it points to) at `path` inside the root.
    /// - Returns: whether there was one.
    @discardableResult
    public func remove(_ path: String) throws -> Bool {
        guard let (dir, leaf) = try openExistingParent(of: path) else { return false }
        defer { Glibc.close(dir) }
        if unlinkat(dir, leaf, 0) == 0 { return true }
        guard errno == ENOENT else { throw failure("cannot remove", path) }
        return false
    }

    /// Opens the regular file at `path` inside the root without following a link at its end.
    /// - Returns: the descriptor (caller closes), or `nil` when there is no regular file there.
    public func openFile(_ path: String, flags: Int32) throws -> Int32? {
        guard let (dir, leaf) = try openExistingParent(of: path) else { return nil }
        defer { Glibc.close(dir) }
        let fd = openat(dir, leaf, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ELOOP { return nil }
            throw failure("cannot open", path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            return nil
        }
        return fd
    }

    /// The content of the regular file at `path` inside the root (no link followed at its end),
    /// or `nil` when there is none.
    /// - Throws: ``StrataError`` `.invalidInput` when it is larger than `limit`, `.io`.
    public func read(_ path: String, limit: Int = 16 << 20) throws -> [UInt8]? {
        guard let fd = try openFile(path, flags: O_RDONLY) else { return nil }
        defer { Glibc.close(fd) }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw failure("cannot read", path) }
            if n == 0 { return out }
            out += buffer[0..<n]
            guard out.count <= limit else {
                throw StrataError(.invalidInput, "\(root)/\(path): larger than \(limit) bytes")
            }
        }
    }

    /// ``write(_:to:mode:)`` in the tree at `root`, for a single write.
    public static func write(_ bytes: [UInt8], to path: String, in root: String, mode: mode_t = 0o644) throws {
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        try tree.write(bytes, to: path, mode: mode)
    }

    private func failure(_ what: String, _ path: String) -> StrataError {
        StrataError(.io, "\(root)/\(path): \(what): \(String(cString: strerror(errno)))")
    }

    /// Walks `components` from the root, resolving symlinks within the root.
    /// - Returns: the directory, or `nil` when one is missing and `create` is false.
    private func openDirectory(_ components: [String], create: Bool, what: String) throws -> Int32? {
        var stack = [Int32]()  // descriptors of the directories walked, for '..'
        var current = dup(rootFD)
        var pending = components[...]
        var hops = 0
        defer { stack.forEach { Glibc.close($0) } }
        while let name = pending.first {
            pending = pending.dropFirst()
            if name.isEmpty || name == "." { continue }
            if name == ".." {
                if let parent = stack.popLast() {
                    Glibc.close(current)
                    current = parent
                }
                continue
            }
            var next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, create {
                if mkdirat(current, name, 0o755) != 0, errno != EEXIST {
                    Glibc.close(current)
                    throw StrataError(.io, "\(what): cannot create directory \(name): \(String(cString: strerror(errno)))")
                }
                next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0, errno == ELOOP || errno == ENOTDIR, let target = readLink(current, name) {
                hops += 1
                guard hops <= 40 else {
                    Glibc.close(current)
                    throw StrataError(.invalidInput, "\(what): too many symlinks")
                }
                let targetParts = target.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                if target.hasPrefix("/") {
                    stack.forEach { Glibc.close($0) }
                    stack.removeAll()
                    Glibc.close(current)
                    current = dup(rootFD)
                }
                pending = ArraySlice(targetParts + Array(pending))
                continue
            }
            guard next >= 0 else {
                let code = errno
                Glibc.close(current)
                if code == ENOENT, !create { return nil }
                throw StrataError(.io, "\(what): cannot open directory \(name): \(String(cString: strerror(code)))")
            }
            stack.append(current)
            current = next
        }
        return current
    }

    private func readLink(_ dir: Int32, _ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlinkat(dir, name, &buffer, 4096)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
