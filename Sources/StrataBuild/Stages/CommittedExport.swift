// Export of a committed tree as a tar straight from the store: each file's content and metadata
// are its object's (the inode a checkout would hardlink), everything else is the manifest's entry
// as a checkout would lay it out (Checkout.swift), so the bytes are those of exporting a checkout
// with no checkout made: no directories created, no links made and removed. Owner names come from
// the tree's own etc/passwd and etc/group objects; a tree whose etc, passwd or group is not a
// plain directory or file (a symlink a checkout would follow) is checked out instead.
import Foundation
import StrataArchive
import StrataCore
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

extension Exporter {
    /// Writes the tree `manifest` to `output` as a tar; nil when it must be checked out instead.
    static func exportCommitted(
        _ manifest: TreeManifest, store: Store, to output: String, compression: TarCompression, clampMtime: Int64
    ) throws -> ExportStats? {
        let byPath = Dictionary(manifest.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        /// The object a path's inode is: its own, or its hardlink target's.
        func object(of entry: TreeEntry) -> ObjectID? {
            switch entry.kind {
            case .file: return entry.object
            case .hardlink:
                guard let target = entry.target.flatMap({ byPath[$0] }), target.kind == .file else { return nil }
                return target.object
            default: return nil
            }
        }
        /// The bytes of etc/NAME, [] when there is none; nil when a checkout would follow a link.
        func ownerFile(_ name: String) throws -> [UInt8]? {
            if let etc = byPath["etc"], etc.kind != .directory { return nil }
            guard let entry = byPath["etc/\(name)"] else { return [] }
            guard let object = object(of: entry) else { return nil }
            return try FileReader.readAll(store.objectPath(object))
        }
        guard let passwd = try ownerFile("passwd"), let group = try ownerFile("group") else { return nil }

        // The paths that may share an inode in the output: the hardlink groups, as the checkout
        // gives them to the directory export.
        var linked = Set<String>()
        for entry in manifest.entries where entry.kind == .hardlink {
            linked.formUnion([entry.path, entry.target ?? ""])
        }
        let kept = { (xattrs: [String: [UInt8]]) in
            xattrs.filter { $0.key.hasPrefix("security.") || $0.key.hasPrefix("user.") }
        }
        var paths = [TarWriter.DescribedPath]()
        paths.reserveCapacity(manifest.entries.count)
        for entry in manifest.entries {
            Interruption.checkpoint()
            let path = entry.path == "." ? "" : entry.path
            guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw StrataError(.verificationFailed, "a committed tree's path '\(entry.path)' leaves the tree")
            }
            func described(_ kind: ArchiveEntry.Kind, mode: UInt32, xattrs: [String: [UInt8]] = [:]) -> TarWriter.DescribedPath {
                TarWriter.DescribedPath(
                    path: path,
                    source: .entry(
                        ArchiveEntry(
                            path: path, kind: kind, mode: mode, uid: entry.uid, gid: entry.gid,
                            mtime: entry.mtime ?? clampMtime, size: 0, xattrs: xattrs)),
                    linkKey: nil)
            }
            switch entry.kind {
            case .file, .hardlink:
                guard let object = object(of: entry) else {
                    throw StrataError(.verificationFailed, "a committed tree's '\(entry.path)' has no object to export")
                }
                paths.append(
                    TarWriter.DescribedPath(
                        path: path, source: .file(store.objectPath(object)),
                        linkKey: linked.contains(entry.path) ? object.hex : nil))
            case .directory: paths.append(described(.directory, mode: entry.mode & 0o7777, xattrs: kept(entry.xattrs)))
            case .symlink: paths.append(described(.symlink(target: entry.target ?? ""), mode: 0o777))
            case .characterDevice:
                paths.append(described(.characterDevice(major: entry.major ?? 0, minor: entry.minor ?? 0), mode: entry.mode & 0o7777))
            case .blockDevice:
                paths.append(described(.blockDevice(major: entry.major ?? 0, minor: entry.minor ?? 0), mode: entry.mode & 0o7777))
            case .fifo: paths.append(described(.fifo, mode: entry.mode & 0o7777))
            }
        }
        let target = output.count > 1 && output.hasSuffix("/") ? String(output.dropLast()) : output
        let directory = (target as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        return try writeTar(to: target) { temp in
            try TarWriter.exportDescribed(
                paths, to: temp, compression: compression, clampMtime: clampMtime,
                owners: OwnerNames(passwd: passwd, group: group))
        }
    }
}
