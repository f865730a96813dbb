// Owners of rpm files are names in the header, and often users that a package's own %pre creates.
// After the %pre scripts ran, each name is looked up in the tree's own /etc/passwd and /etc/group
// (never the host's: the tree's ids are the tree's business) and the composed path is given that
// owner through the rooted install root. A name the tree does not know leaves the path root's,
// as rpm does, with a warning naming the package and the file.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

enum RpmOwners {
    /// `name:x:uid:gid:…` lines of the tree's passwd or group file, name → id.
    static func ids(_ file: String, tree: RootedPath) throws -> [String: UInt32] {
        guard let bytes = try tree.read("etc/\(file)") else { return [:] }
        var out = [String: UInt32]()
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, let id = UInt32(fields[2]), out[String(fields[0])] == nil else { continue }
            out[String(fields[0])] = id
        }
        return out
    }

    /// Gives every path of `packages` that names an owner that owner, in the tree at `root`.
    static func apply(_ packages: [ImportedPackage<RpmControlRecord>], root: String, layout: TreeLayout) throws {
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        let users = try ids("passwd", tree: tree)
        let groups = try ids("group", tree: tree)
        for package in packages {
            for entry in package.entries {
                guard let (user, group) = entry.owner else { continue }
                let uid = users[user]
                let gid = groups[group]
                if uid == nil {
                    Diagnostics.warning("\(package.name): /\(entry.path): user '\(user)' does not exist in the tree; owned by root, as rpm does")
                }
                if gid == nil {
                    Diagnostics.warning("\(package.name): /\(entry.path): group '\(group)' does not exist in the tree; owned by root, as rpm does")
                }
                guard uid != nil || gid != nil else { continue }
                let (dir, leaf) = try tree.openParent(of: layout.path(entry.path))
                defer { close(dir) }
                if case .symlink = entry.kind {
                    guard fchownat(dir, leaf, uid ?? 0, gid ?? 0, AT_SYMLINK_NOFOLLOW) == 0 else {
                        throw StrataError(
                            .io, "\(package.name): /\(entry.path): cannot set its owner: \(String(cString: strerror(errno)))")
                    }
                    continue
                }
                // Opened without following a link, so a script's symlink cannot redirect the chown.
                let fd = openat(dir, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
                guard fd >= 0 else {
                    throw StrataError(.io, "\(package.name): /\(entry.path): cannot open it: \(String(cString: strerror(errno)))")
                }
                defer { close(fd) }
                // The mode and xattrs (file capabilities) again after the owner, as rpm sets them.
                try Ownership.change(
                    fd: fd, uid: uid ?? 0, gid: gid ?? 0, mode: entry.mode, path: "\(package.name): /\(entry.path)")
            }
        }
    }
}
