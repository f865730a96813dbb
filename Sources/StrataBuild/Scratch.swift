// A build's scratch space, under the store's tmp/ so that hardlinks to store objects work (same
// file system): lower/ (the composed tree), upper/ and work/ (overlayfs), merged/ (the view the
// scripts run in). The lower layer is never written through: the kernel copies a file up before
// a script changes it, so store objects stay as they were. Where overlayfs cannot be mounted
// (not root, or a file system that refuses it), merged/ is a plain copy of lower/ instead.
import Foundation
import StrataCore
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

final class Scratch: @unchecked Sendable {
    // @unchecked: used by one build on one task; `mounted` is only read and written there.
    let root: String
    var lower: String { "\(root)/lower" }
    var upper: String { "\(root)/upper" }
    var work: String { "\(root)/work" }
    var merged: String { "\(root)/merged" }
    private var mounted = false

    init(storeRoot: String) throws {
        root = "\(storeRoot)/tmp/build-\(UInt64.random(in: 0...UInt64.max))"
        for dir in [lower, upper, work, merged] { try FileSystem.makeDirectories(dir) }
        chmod(lower, 0o755)
    }

    /// Mounts the overlay, or copies lower/ to merged/ when overlayfs is not available.
    /// - Returns: whether the overlay is used.
    func mountOverlay() throws -> Bool {
        if geteuid() == 0, let mount = Command.which("mount") {
            let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
            let result = try Command.run(mount, ["-t", "overlay", "overlay", "-o", options, merged])
            if result.status == 0 {
                mounted = true
                return true
            }
            Log.strata.warning("overlayfs: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        try FileManager.default.removeItem(atPath: merged)
        let copy = try Command.run("/bin/cp", ["-a", "--", lower, merged])
        guard copy.status == 0 else { throw StrataError(.io, "cannot copy \(lower): \(copy.stderr)") }
        return false
    }

    /// Unmounts and deletes everything.
    func remove() {
        if mounted { _ = umount2(merged, Int32(MNT_DETACH)) }
        mounted = false
        _ = try? Command.run("/bin/rm", ["-rf", "--one-file-system", "--", root])
    }
}
