import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// File-system helpers for the store.
public enum FileSystem {
    /// `mkdir -p`.
    public static func makeDirectories(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StrataError(.io, "cannot create directory \(path): \(error.localizedDescription)", cause: nil)
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, flushed, then renamed.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        try makeDirectories(dir)
        let temp = try TemporaryFile(directory: dir, hint: ".\((path as NSString).lastPathComponent)")
        do {
            try bytes.withUnsafeBytes { try temp.write($0) }
            try temp.finish(movingTo: path)
        } catch {
            temp.discard()
            throw error
        }
    }
}
