// Export: the finished tree as the output the user asked for: a reproducible tar (sorted entries,
// numeric owners, mtimes clamped, fixed compression settings, only the packages' own hardlinks)
// or a plain directory (a copy with `cp -a`, for systemd-nspawn and inspection), new or into an
// empty directory (a mount point). A tar is written under a temporary name beside the output and
// renamed when complete; nothing partial is left behind by an error or an interruption.
import Foundation
import StrataArchive
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// What an export wrote: paths, bytes of file content, and a tar's sha256 (hashed as written).
public struct ExportStats: Sendable {
    public var files: Int
    public var bytes: UInt64
    /// `nil` for a directory.
    public var digest: SHA256Digest?
}

enum Exporter {
    static func export(
        root: String, to output: String, format: Builder.OutputFormat, clampMtime: Int64, hardlinks: Set<String>,
        image: OCIImage? = nil
    ) throws -> ExportStats {
        if format == .storeOnly { return ExportStats(files: 0, bytes: 0, digest: nil) }
        let target = output.count > 1 && output.hasSuffix("/") ? String(output.dropLast()) : output
        let directory = (target as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        switch format {
        case .tar(let compression):
            return try writeTar(to: target) { temp in
                try TarWriter.exportDirectory(
                    root, to: temp, compression: compression, clampMtime: clampMtime, owners: OwnerNames(tree: root),
                    hardlinks: hardlinks)
            }
        case .oci, .ociArchive:
            guard let image else { throw StrataError.internalError("an OCI export without the image's description") }
            return try OCIExport.export(
                root: root, to: target, archive: format == .ociArchive, clampMtime: clampMtime, hardlinks: hardlinks, image: image)
        case .directory, .storeOnly:
            return try copyTree(root, to: target, clampMtime: clampMtime)
        }
    }

    /// The directory output: `cp -a` of the tree into `target`, dated as the tar would be.
    /// (Out of line, as `intoDirectory` and `OCIExport.export` are: with them inlined into
    /// `export`, Swift 6.3.1's optimizer crashed on a directory-filling closure, "Found outside
    /// of lifetime use" in CopyPropagation; marking the OCI export alone was what made -O build.)
    @inline(never)
    static func copyTree(_ root: String, to target: String, clampMtime: Int64) throws -> ExportStats {
        try intoDirectory(target, create: false) { existed in
            let copy = try Command.runBlocking("/bin/cp", ["-a", "--", existed ? "\(root)/." : root, target])
            guard copy.status == 0 else { throw StrataError(.io, "cannot copy the tree to \(target): \(copy.stderr)") }
            let (files, bytes) = try clampDates(target, to: clampMtime)
            return ExportStats(files: files, bytes: bytes, digest: nil)
        }
    }

    /// Runs `body` to fill the directory `target`: a new path (made first when `create`), or an
    /// existing real directory (not a symlink), checked again now (the check before downloading
    /// was minutes ago). On an error or an interruption only the names `body` added are removed
    /// (all of `target` when it was new). `body` is told whether `target` existed.
    @inline(never)
    static func intoDirectory(_ target: String, create: Bool, _ body: (Bool) throws -> ExportStats) throws -> ExportStats {
        var st = stat()
        let existed = lstat(target, &st) == 0
        if existed, (st.st_mode & S_IFMT) != S_IFDIR {
            throw StrataError(.invalidInput, "-o \(target) is no longer a directory; nothing was written there")
        }
        let before = Set(existed ? try FileManager.default.contentsOfDirectory(atPath: target) : [])
        let undo: @Sendable () -> Void = {
            guard existed else { return Scratch.removeTree(target) }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? [] where !before.contains(name) {
                Scratch.removeTree("\(target)/\(name)")
            }
        }
        return try Interruption.whileRunning(cleanup: undo) {
            do {
                if create, !existed { try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false) }
                return try body(existed)
            } catch {
                undo()
                throw error
            }
        }
    }

    /// Writes a tar under a temporary name beside `target` with `body`, then renames it; an error
    /// or an interruption before the rename leaves nothing.
    static func writeTar(
        to target: String, _ body: (String) throws -> (entries: Int, bytes: UInt64, digest: SHA256Digest)
    ) throws -> ExportStats {
        let temp = "\(target).strata-\(UInt64.random(in: 0...UInt64.max))"
        do {
            // Registered until the rename: an interruption before it leaves no partial file.
            return try Interruption.whileRunning(cleanup: { _ = unlink(temp) }) {
                let stats = try body(temp)
                guard rename(temp, target) == 0 else {
                    throw StrataError(.io, "cannot move the output to \(target): \(String(cString: strerror(errno)))")
                }
                return ExportStats(files: stats.entries, bytes: stats.bytes, digest: stats.digest)
            }
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// Clamps the dates of a directory output as the tar's are (`cp -a` kept them): none newer
    /// than `clampMtime`.
    /// - Returns: the number of paths and the bytes of their regular files.
    private static func clampDates(_ root: String, to clampMtime: Int64) throws -> (files: Int, bytes: UInt64) {
        var count = 0
        var bytes: UInt64 = 0
        func visit(_ relative: String) throws {
            let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
            var st = stat()
            guard lstat(absolute, &st) == 0 else { throw StrataError(.io, "lstat \(absolute): \(String(cString: strerror(errno)))") }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for name in try FileManager.default.contentsOfDirectory(atPath: absolute).sorted() {
                    try visit(relative.isEmpty ? name : "\(relative)/\(name)")
                }
            }
            let mtime = min(clampMtime, Int64(st.st_mtim.tv_sec))
            var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
            guard utimensat(AT_FDCWD, absolute, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw StrataError(.io, "cannot set the date of \(absolute): \(String(cString: strerror(errno)))")
            }
            count += 1
            if (st.st_mode & S_IFMT) == S_IFREG { bytes += UInt64(st.st_size) }
        }
        try visit("")
        return (count, bytes)
    }
}
