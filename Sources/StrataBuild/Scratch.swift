// A build's scratch space, under the store's tmp/ so that hardlinks to store objects work (same
// file system): lower/ (the composed tree), upper/ and work/ (overlayfs), merged/ (the view the
// scripts run in). The lower layer is never written through: the kernel copies a file up before
// a script changes it, so store objects stay as they were. Where overlayfs cannot be mounted
// (not root, or a file system that refuses it), merged/ is a plain copy of lower/ instead.
import CStrataShim
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

public final class Scratch: @unchecked Sendable {
    // @unchecked: used by one build on one task; `mounted` is only read and written there.
    let root: String
    /// Held (flock) while the build runs: a directory whose lock can be taken belongs to a build
    /// that died (SIGKILL, power loss) and is cleaned up by the next one.
    private let lockFD: Int32
    var lower: String { "\(root)/lower" }
    /// The overlay's writable layers live on a tmpfs here when one can be mounted: the scripts'
    /// writes are small, and dpkg's fsyncs on a disk cost about a third of configuring.
    var writable: String { "\(root)/rw" }
    var upper: String { "\(writable)/upper" }
    var work: String { "\(writable)/work" }
    var merged: String { "\(root)/merged" }
    private var mounted = false
    private var tmpfsMounted = false
    /// Whether merged/ is the overlay now.
    var isOverlayMounted: Bool { mounted }
    /// Undoes everything if the process is interrupted (SIGINT, SIGTERM) while the build runs.
    private var interruption: Interruption.Token?

    init(storeRoot: String) throws {
        Self.removeAbandoned(storeRoot: storeRoot)
        // Made under another name, locked, then renamed: a build-* directory always has a held
        // lock while its build lives, so no other build can take it for abandoned.
        let name = "build-\(UInt64.random(in: 0...UInt64.max))"
        let staging = "\(storeRoot)/tmp/.\(name)"
        root = "\(storeRoot)/tmp/\(name)"
        try FileSystem.makeDirectories(staging)
        lockFD = open("\(staging)/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0, flock(lockFD, LOCK_EX | LOCK_NB) == 0, rename(staging, root) == 0 else {
            throw StrataError(.io, "cannot set up \(root): \(String(cString: strerror(errno)))")
        }
        for dir in [lower, writable, merged] { try FileSystem.makeDirectories(dir) }
        chmod(lower, 0o755)
        let (root, merged, writable) = (root, merged, writable)
        interruption = Interruption.register {
            // Syscalls only: the process is about to exit, and tools are no longer run.
            _ = umount2(merged, Int32(MNT_DETACH))
            _ = umount2(writable, Int32(MNT_DETACH))
            Self.removeTree(root)
        }
    }

    /// Removes `path` and everything below it without crossing into another file system and
    /// without following symlinks (nftw with FTW_PHYS | FTW_MOUNT, children first).
    static func removeTree(_ path: String) { _ = strata_remove_tree(path) }

    /// The marker of a tree kept by `--keep-failed`: the next build leaves it, `strata gc` removes it.
    static let keptMarker = Store.keptFailedMarker

    /// Leaves the tree as it is (mounted) for inspection: not removed on interruption, not by the
    /// next build; ``removeAbandoned(storeRoot:includingKept:)`` with `includingKept` removes it.
    func keep() {
        if let interruption { Interruption.unregister(interruption) }
        interruption = nil
        _ = FileManager.default.createFile(atPath: "\(root)/\(Self.keptMarker)", contents: Data())
    }

    /// Unmounts and removes the scratch directories of builds that are no longer running, and,
    /// with `includingKept`, the trees `--keep-failed` kept.
    /// - Returns: how many were removed.
    @discardableResult
    public static func removeAbandoned(storeRoot: String, includingKept: Bool = false) -> Int {
        var removed = 0
        let tmp = "\(storeRoot)/tmp"
        // `.build-*`: made, not yet locked and renamed, when its build died. Such a directory
        // without a held lock is also a build that is starting right now: only one older than a
        // minute is taken for abandoned.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
        where name.hasPrefix("build-") || name.hasPrefix(".build-") {
            let dir = "\(tmp)/\(name)"
            var st = stat()
            if name.hasPrefix("."), lstat(dir, &st) != 0 || time(nil) - st.st_mtim.tv_sec < 60 { continue }
            let fd = open("\(dir)/lock", O_RDWR | O_CLOEXEC)
            if fd >= 0 {
                defer { close(fd) }
                guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }  // a live build
            }
            if !includingKept, FileManager.default.fileExists(atPath: "\(dir)/\(keptMarker)") { continue }
            _ = umount2("\(dir)/merged/proc", Int32(MNT_DETACH))
            _ = umount2("\(dir)/merged", Int32(MNT_DETACH))
            _ = umount2("\(dir)/rw", Int32(MNT_DETACH))
            Log.strata.info("removing the scratch space of an interrupted build: \(dir)")
            _ = try? Command.runBlocking("/bin/rm", ["-rf", "--one-file-system", "--", dir])
            removed += 1
        }
        return removed
    }

    /// Mounts the overlay, or copies lower/ to merged/ when overlayfs is not available.
    /// - Returns: whether the overlay is used.
    func mountOverlay() throws -> Bool {
        if geteuid() == 0, let mount = Command.which("mount") {
            let tmpfs = try Command.runBlocking(mount, ["-t", "tmpfs", "-o", "mode=0755,size=4g", "strata-build", writable])
            tmpfsMounted = tmpfs.status == 0
            for dir in [upper, work] { try FileSystem.makeDirectories(dir) }
            // Stated, not left to the kernel's defaults: ``untouched(_:)`` relies on all three.
            let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work),redirect_dir=off,metacopy=off,index=off"
            let result = try Command.runBlocking(mount, ["-t", "overlay", "overlay", "-o", options, merged])
            if result.status == 0 {
                mounted = true
                return true
            }
            Log.strata.warning("overlayfs: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        try FileManager.default.removeItem(atPath: merged)
        if tmpfsMounted { _ = umount2(writable, Int32(MNT_DETACH)) }
        tmpfsMounted = false
        let copy = try Command.runBlocking("/bin/cp", ["-a", "--", lower, merged])
        guard copy.status == 0 else { throw StrataError(.io, "cannot copy \(lower): \(copy.stderr)") }
        return false
    }

    /// The store object a file of the merged view is when no script touched it: the composed
    /// file at that path, when the upper layer has nothing there and the lower layer's file is
    /// that object's inode (not a later package's file or hardlink at the same path, nor a copy
    /// made at ext4's link limit). The overlay is mounted with `redirect_dir=off`, `metacopy=off`
    /// and `index=off`, so a path that the upper layer lacks shows the lower layer's file of the
    /// same path, or nothing (an opaque directory above it holds everything below it in the
    /// upper layer).
    func untouched(_ tree: ComposedTree) -> (String) -> ObjectID? {
        var objects = [String: (id: ObjectID, path: String)]()
        for (path, object) in tree.objects {
            if let id = try? ObjectID(hex: String(object.suffix(65).filter { $0 != "/" })) { objects[path] = (id, object) }
        }
        let (upper, lower) = (upper, lower)
        return { path in
            guard let object = objects[path] else { return nil }
            var st = stat()
            guard lstat("\(upper)/\(path)", &st) != 0, errno == ENOENT else { return nil }
            var composed = stat()
            guard lstat("\(lower)/\(path)", &composed) == 0, lstat(object.path, &st) == 0,
                composed.st_dev == st.st_dev, composed.st_ino == st.st_ino
            else { return nil }
            return object.id
        }
    }

    /// Unmounts and deletes everything.
    func remove() {
        // Interrupted: the clean-up thread is removing this now and ends the process.
        Interruption.parkIfInterrupted()
        if mounted { _ = umount2(merged, Int32(MNT_DETACH)) }
        if tmpfsMounted { _ = umount2(writable, Int32(MNT_DETACH)) }
        mounted = false
        tmpfsMounted = false
        _ = try? Command.runBlocking("/bin/rm", ["-rf", "--one-file-system", "--", root])
        // Unregistered only now: an interruption during the removal finishes it.
        if let interruption { Interruption.unregister(interruption) }
        interruption = nil
        close(lockFD)
    }
}
