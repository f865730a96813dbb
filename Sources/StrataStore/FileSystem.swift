import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// File-system helpers for the store.
public enum FileSystem {
    /// `mkdir -p`.
    public static func makeDirectories(_ path: String) throws {
        Interruption.checkpoint()
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StrataError(.io, "cannot create directory \(path): \(StrataError.reason(of: error))")
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it (or in `temporaryDirectory`,
    /// on the same file system), flushed (unless `durable` is false: a crash may then leave an
    /// empty or torn file under the name), then renamed.
    public static func writeAtomically(
        _ bytes: [UInt8], to path: String, durable: Bool = true, temporaryDirectory: String? = nil,
        hint: String? = nil
    ) throws {
        Interruption.checkpoint()
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        try makeDirectories(dir)
        let temp = try TemporaryFile(
            directory: temporaryDirectory ?? dir, hint: hint ?? ".\((path as NSString).lastPathComponent)")
        do {
            try bytes.withUnsafeBytes { try temp.write($0) }
            try temp.finish(movingTo: path, durable: durable)
        } catch {
            temp.discard()
            throw error
        }
    }

    /// Writes `bytes` to `path` without flushing: for files in a build's scratch tree, which is
    /// thrown away if the build dies (thousands of fsyncs there cost a second per build).
    public static func writeScratch(_ bytes: [UInt8], to path: String) throws {
        Interruption.checkpoint()
        let parent = (path as NSString).deletingLastPathComponent
        try makeDirectories(parent.isEmpty ? "." : parent)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw StrataError(.io, "cannot write \(path)")
        }
    }

    /// Refuses a directory path inside a tree that goes through a symlink: strata writes its own
    /// files there (the dpkg database, policy-rc.d, apt sources), and a package that shipped
    /// `var/lib/dpkg/info -> /x` must not turn those writes into writes outside the tree.
    /// - Throws: ``StrataError`` `.invalidInput` naming the symlink.
    public static func requireRealDirectories(_ relative: String, in root: String) throws {
        var path = root
        for component in relative.split(separator: "/") {
            path += "/\(component)"
            var st = stat()
            guard lstat(path, &st) == 0 else { return }  // created by the caller as a real directory
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw StrataError(
                    .invalidInput, "\(path) is not a directory (a package made it a symlink?); strata will not write through it")
            }
        }
    }
}
