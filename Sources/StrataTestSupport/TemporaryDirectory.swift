// Temporary directories for fixtures. A fixture is built once per test process and shared, so
// nothing owns it long enough to delete it; instead each directory is registered and removed when
// the process exits. Set STRATA_KEEP_FIXTURES=1 to keep them for a post-mortem.
import Foundation
import StrataCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Creates uniquely named directories under the system temporary directory.
public enum TemporaryDirectory {
    private static let registry = Mutex<[String]>([])
    private static let installExitHook: Void = {
        atexit { TemporaryDirectory.removeRegistered() }
    }()

    /// Creates a new empty directory `…/strata-<prefix>-XXXXXX` (mode 0700).
    ///
    /// - Parameters:
    ///   - prefix: a word naming what the directory holds, for people reading `/tmp`.
    ///   - registerForCleanup: when `true`, the directory is removed when the process exits.
    /// - Returns: the directory's absolute path.
    /// - Throws: ``StrataError`` `.io` when it cannot be created.
    public static func make(prefix: String, registerForCleanup: Bool = true) throws -> String {
        // Short base path: gpg-agent puts its sockets in GNUPGHOME and socket paths are limited to 108 bytes.
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/strata-\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }
        }
        guard made != nil else {
            throw StrataError(.io, "cannot create a temporary directory under \(base): errno \(errno)")
        }
        let path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if registerForCleanup {
            _ = installExitHook
            registry.withLock { $0.append(path) }
        }
        return path
    }

    /// Removes every registered directory now (also done at exit).
    public static func removeRegistered() {
        if ProcessInfo.processInfo.environment["STRATA_KEEP_FIXTURES"] == "1" { return }
        let paths = registry.withLock { paths in
            defer { paths.removeAll() }
            return paths
        }
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }
}
