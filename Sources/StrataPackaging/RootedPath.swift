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
        var components = path.split(separator: "/").map(String.init)
        guard let leaf = components.popLast() else { throw StrataError(.invalidInput, "empty path") }
        guard leaf != "..", leaf != "." else { throw StrataError(.invalidInput, "\(path): refuses '\(leaf)' as a name") }
        return (try openDirectory(components, create: true, what: path), leaf)
    }

    /// Walks `components` from the root, resolving symlinks within the root.
    private func openDirectory(_ components: [String], create: Bool, what: String) throws -> Int32 {
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
                let message = String(cString: strerror(errno))
                Glibc.close(current)
                throw StrataError(.io, "\(what): cannot open directory \(name): \(message)")
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
