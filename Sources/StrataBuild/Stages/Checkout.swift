// A committed tree laid out again: every file a hardlink to its store object (which carries its
// mode, owner, xattrs and date), directories, links, devices and the package hardlink groups as
// the manifest records them, every path dated as committed. Exporting a checkout with the
// commit's epoch gives the bytes the build that made the commit wrote (ExportStage reads the
// same things), so an unchanged rebuild and `strata export` need no package tool at all.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

struct Checkout {
    let store: Store

    /// What a checkout needs to export like the build: the paths of its hardlink groups.
    struct Output {
        var hardlinks: Set<String>
    }

    /// Lays the tree `tree` out under the empty directory `root`.
    func run(tree id: SHA256Digest, into root: String) throws -> Output {
        try run(tree: id, manifest: try store.readTree(id), into: root)
    }

    /// Lays out `manifest`, tree `id` as read already (a layer's plan has it).
    func run(tree id: SHA256Digest, manifest: TreeManifest, into root: String) throws -> Output {
        // No folding here: the manifest's paths are the tree's own.
        var composer = try Composer(root: root, layout: TreeLayout(mergedDirectories: []))
        defer { composer.close() }
        var hardlinks = Set<String>()
        var directories = [TreeEntry]()
        for entry in manifest.entries {
            guard entry.path != "." else {
                directories.append(entry)
                continue
            }
            guard !entry.path.hasPrefix("/"), !entry.path.split(separator: "/").contains("..") else {
                throw StrataError(.verificationFailed, "tree \(id.hex): path '\(entry.path)' leaves the tree")
            }
            let kind: PackageEntry.Kind
            switch entry.kind {
            case .directory:
                kind = .directory
                directories.append(entry)
            case .file:
                guard let object = entry.object else { throw StrataError.internalError("\(entry.path): file without object") }
                kind = .file(object: store.objectPath(object))
            case .symlink: kind = .symlink(target: entry.target ?? "")
            case .hardlink:
                let target = entry.target ?? ""
                hardlinks.formUnion([entry.path, target])
                kind = .hardlink(target: target)
            case .characterDevice: kind = .characterDevice(major: entry.major ?? 0, minor: entry.minor ?? 0)
            case .blockDevice: kind = .blockDevice(major: entry.major ?? 0, minor: entry.minor ?? 0)
            case .fifo: kind = .fifo
            }
            try composer.place(
                PackageEntry(
                    path: entry.path, kind: kind, mode: entry.mode, uid: entry.uid, gid: entry.gid,
                    mtime: entry.kind == .file || entry.kind == .hardlink ? nil : entry.mtime))
        }
        // Directories last, deepest first: placing their children changed their dates.
        for entry in directories.sorted(by: { $0.path.count > $1.path.count }) {
            let path = entry.path == "." ? root : "\(root)/\(entry.path)"
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw StrataError(.io, "\(path): cannot open: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            if entry.path == "." {
                guard fchown(fd, entry.uid, entry.gid) == 0, fchmod(fd, mode_t(entry.mode & 0o7777)) == 0 else {
                    throw StrataError(.io, "\(path): cannot set owner and mode: \(String(cString: strerror(errno)))")
                }
            }
            if !entry.xattrs.isEmpty { try Ownership.setXattrs(entry.xattrs, fd: fd, path: path) }
            if let mtime = entry.mtime {
                let date = timespec(tv_sec: Int(mtime), tv_nsec: 0)
                var times = [date, date]
                guard futimens(fd, &times) == 0 else {
                    throw StrataError(.io, "\(path): cannot set its date: \(String(cString: strerror(errno)))")
                }
            }
        }
        return Output(hardlinks: hardlinks)
    }
}
