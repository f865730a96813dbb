// fsck: re-hash everything in the store and check every reference; change nothing.
//
// Blobs: content hashes to the name. Objects: the content digest with the mode, owner and xattrs
// on disk gives the name (in a store written without root, the metadata of a tree entry naming
// the object may stand in for the owner and privileged xattrs it could not set). Trees and
// commits: the bytes hash to the name and decode; tree entries are valid, their objects exist,
// have the entry's size and match the entry's metadata. Refs and package entries hold an id of a
// commit or tree in the store. Leftover `tmp/` files, missing parents and package entries whose
// blob is gone are notes: gc deals with them and nothing is lost.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// What ``Store/fsck()`` found.
public struct FsckReport: Sendable {
    /// Damage, each naming the path and what was expected and found.
    public var problems: [String] = []
    /// Harmless findings (leftover temporary files, history cut by gc).
    public var notes: [String] = []
    public var blobsChecked = 0
    public var objectsChecked = 0
    public var treesChecked = 0
    public var commitsChecked = 0
    public var refsChecked = 0

    /// Whether nothing is damaged.
    public var isClean: Bool { problems.isEmpty }
}

extension Store {
    /// Checks every blob, object, tree, commit, ref and package entry; see Store+Fsck.swift.
    /// Takes no lock and modifies nothing; run it while no writer is active for exact results.
    /// - Throws: ``StrataError`` `.io` when a directory cannot be listed.
    public func fsck() throws -> FsckReport {
        var report = FsckReport()
        checkBlobs(&report)

        // Trees first: their entries are what objects are checked against in a store without root.
        var entriesByObject = [ObjectID: [(tree: String, entry: TreeEntry)]]()
        for name in try FileSystem.names(in: treesDirectory) {
            let path = "\(treesDirectory)/\(name)"
            guard let id = Self.jsonName(name) else {
                report.problems.append("\(relative(path)): not a tree name")
                continue
            }
            report.treesChecked += 1
            guard let manifest: TreeManifest = decodeNamed(path, id, &report) else { continue }
            do {
                try manifest.validate()
            } catch let error as StrataError {
                report.problems.append("\(relative(path)): \(error.message)")
                continue
            }
            for entry in manifest.entries {
                if let object = entry.object { entriesByObject[object, default: []].append((relative(path), entry)) }
            }
        }

        var contents = [ObjectID: (digest: SHA256Digest, size: UInt64)]()
        for prefix in try FileSystem.names(in: objectsDirectory) {
            let directory = "\(objectsDirectory)/\(prefix)"
            guard prefix.utf8.count == 2, let st = try FileSystem.status(directory), st.st_mode & S_IFMT == S_IFDIR
            else {
                report.problems.append("\(relative(directory)): not an object directory")
                continue
            }
            for rest in try FileSystem.names(in: "\(objectsDirectory)/\(prefix)") {
                let path = "\(objectsDirectory)/\(prefix)/\(rest)"
                guard let id = try? ObjectID(hex: prefix + rest), id.hex == prefix + rest else {
                    report.problems.append("\(relative(path)): not an object name")
                    continue
                }
                report.objectsChecked += 1
                if let content = checkObject(id, path, entriesByObject[id] ?? [], &report) { contents[id] = content }
            }
        }
        for (object, uses) in entriesByObject.sorted(by: { $0.key < $1.key }) {
            for (tree, entry) in uses {
                let what = "\(tree): entry '\(entry.path)'"
                guard let content = contents[object] else {
                    if !containsObject(object) { report.problems.append("\(what): object \(object.hex) is missing") }
                    continue  // present but damaged: reported above
                }
                if content.size != entry.size {
                    report.problems.append(
                        "\(what): size \(entry.size.map(String.init) ?? "none"), object \(object.hex) has \(content.size)"
                    )
                }
                let expected = ObjectID(contentDigest: content.digest, metadata: entry.metadata)
                if expected != object {
                    report.problems.append(
                        "\(what): mode \(String(entry.mode, radix: 8)) uid \(entry.uid) gid \(entry.gid) with the "
                            + "object's content gives object \(expected.hex), the entry names \(object.hex)")
                }
            }
        }

        for name in try FileSystem.names(in: commitsDirectory) {
            let path = "\(commitsDirectory)/\(name)"
            guard let id = Self.jsonName(name) else {
                report.problems.append("\(relative(path)): not a commit name")
                continue
            }
            report.commitsChecked += 1
            guard let commit: Commit = decodeNamed(path, id, &report) else { continue }
            if !containsTree(commit.tree) {
                report.problems.append("\(relative(path)): tree \(commit.tree.hex) is missing")
            }
            for parent in commit.parents where !containsCommit(parent) {
                report.notes.append("\(relative(path)): parent \(parent.hex) is not in the store (history cut)")
            }
        }

        for name in try refNames() {
            let path = refPath(name)
            report.refsChecked += 1
            do {
                try Self.validateRefName(name)
                guard let commit = try readID(path) else { continue }
                if !containsCommit(commit) {
                    report.problems.append("\(relative(path)): commit \(commit.hex) is missing")
                }
            } catch let error as StrataError {
                report.problems.append("\(relative(path)): \(error.message)")
            }
        }

        for name in try FileSystem.names(in: packagesDirectory) {
            let path = "\(packagesDirectory)/\(name)"
            guard let blob = try? SHA256Digest(hex: name), blob.hex == name else {
                report.problems.append("\(relative(path)): not a package blob name")
                continue
            }
            do {
                guard let tree = try readID(path) else { continue }
                if !containsTree(tree) { report.problems.append("\(relative(path)): tree \(tree.hex) is missing") }
                if !blobs.contains(blob) { report.notes.append("\(relative(path)): blob is gone (gc drops the entry)") }
            } catch let error as StrataError {
                report.problems.append("\(relative(path)): \(error.message)")
            }
        }

        let imported = Set(try FileSystem.names(in: packagesDirectory))
        for name in try FileSystem.names(in: recordsDirectory) {
            let path = "\(recordsDirectory)/\(name)"
            guard let blob = Self.jsonName(name) else {
                report.problems.append("\(relative(path)): not a package record name")
                continue
            }
            if !imported.contains(blob.hex) {
                report.notes.append("\(relative(path)): no package entry (gc removes the record)")
            } else if (try? JSONSerialization.jsonObject(with: Data(FileReader.readAll(path)))) == nil {
                report.problems.append("\(relative(path)): not JSON (the next build reads the package again)")
            }
        }
        for name in try FileSystem.names(in: root) where !Self.topLevelNames.contains(name) {
            report.notes.append("\(name): not something the store keeps (left alone)")
        }
        if FileSystem.exists(unsyncedMarkerPath) {
            report.notes.append(
                "unsynced: a writer is adding files or stopped before flushing them; the next writer (or gc) flushes "
                    + "them, and re-reads them after a reboot")
        }
        for name in try FileSystem.names(in: temporaryDirectory) {
            report.notes.append("tmp/\(name): \(describeTemporary(name))")
        }
        return report
    }

    private func checkBlobs(_ report: inout FsckReport) {
        let directory = "\(root)/blobs/sha256"
        report.blobsChecked = (try? FileSystem.names(in: directory).count) ?? 0
        do {
            for digest in try blobs.verifyAll() {
                let path = blobs.path(of: digest)
                let actual = (try? SHA256Digest.of(file: path).hex) ?? "unreadable"
                report.problems.append("\(relative(path)): content hashes to \(actual), expected \(digest.hex)")
            }
        } catch let error as StrataError {
            report.problems.append("blobs/sha256: \(error.message)")
        } catch {
            report.problems.append("blobs/sha256: \(error)")
        }
    }

    /// Re-hashes an object; returns its content digest and size unless it is damaged.
    private func checkObject(
        _ id: ObjectID, _ path: String, _ uses: [(tree: String, entry: TreeEntry)], _ report: inout FsckReport
    ) -> (digest: SHA256Digest, size: UInt64)? {
        let shown = relative(path)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            report.problems.append("\(shown): cannot open: \(String(cString: strerror(errno)))")
            return nil
        }
        defer { close(fd) }
        let disk: FileMetadata
        var hasher = StreamingSHA256()
        do {
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                report.problems.append("\(shown): not a regular file")
                return nil
            }
            disk = try Self.readMetadata(fd: fd, path: path)
            try FileReader.forEachChunk(of: path) { hasher.update($0) }
        } catch let error as StrataError {
            report.problems.append("\(shown): \(error.message)")
            return nil
        } catch {
            report.problems.append("\(shown): \(error)")
            return nil
        }
        let content = hasher.finalize()
        let size = UInt64(hasher.count)
        if ObjectID(contentDigest: content, metadata: disk) == id { return (content, size) }
        // Written without root: the owner and privileged xattrs live only in the manifests, but the
        // mode was applied and must match.
        if geteuid() != 0 || disk.uid != 0,
            uses.contains(where: {
                $0.entry.mode == disk.mode && ObjectID(contentDigest: content, metadata: $0.entry.metadata) == id
            })
        {
            return (content, size)
        }
        let xattrs = disk.sortedXattrNames.joined(separator: ",")
        report.problems.append(
            "\(shown): content sha256 \(content.hex) with mode \(String(disk.mode, radix: 8)) uid \(disk.uid) "
                + "gid \(disk.gid) mtime \(disk.mtime) xattrs [\(xattrs)] gives object \(ObjectID(contentDigest: content, metadata: disk).hex), expected \(id.hex)"
                + (geteuid() != 0 || disk.uid != 0
                    ? " (and no valid tree entry vouches for another owner or xattrs)" : ""))
        return nil
    }
}

extension Store {
    /// Reads a content-named JSON file, reporting a hash mismatch or a decoding failure.
    fileprivate func decodeNamed<T: Decodable>(_ path: String, _ id: SHA256Digest, _ report: inout FsckReport) -> T? {
        do {
            let bytes = try FileReader.readAll(path)
            let actual = SHA256Digest.of(bytes)
            guard actual == id else {
                report.problems.append("\(relative(path)): content hashes to \(actual.hex), expected \(id.hex)")
                return nil
            }
            return try CanonicalJSON.decode(T.self, from: bytes, what: relative(path))
        } catch let error as StrataError {
            report.problems.append("\(relative(path)): \(error.message)")
            return nil
        } catch {
            report.problems.append("\(relative(path)): \(error)")
            return nil
        }
    }
}

extension Store {
    /// The file in a build's scratch directory that says `--keep-failed` kept it.
    public static let keptFailedMarker = "kept-failed"

    /// What an entry of `tmp/` is and what removes it, as `strata gc` and the next build do.
    func describeTemporary(_ name: String) -> String {
        let path = "\(temporaryDirectory)/\(name)"
        guard let st = try? FileSystem.status(path), st.st_mode & S_IFMT == S_IFDIR else {
            return "left over by a writer that did not finish (gc removes it once it is an hour old)"
        }
        guard name.hasPrefix("build-") || name.hasPrefix(".build-") else {
            return "a directory strata did not make (remove it by hand)"
        }
        if FileManager.default.fileExists(atPath: "\(path)/\(Self.keptFailedMarker)") {
            return "the tree of a failed build kept by --keep-failed (strata gc unmounts and removes it)"
        }
        let fd = open("\(path)/lock", O_RDWR | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 { return "the scratch space of a build in progress" }
        }
        return "the scratch space of a build that did not finish (the next build or strata gc removes it)"
    }
}
