// Host executables packaged to run inside a fixture tree: each executable with every shared
// library `ldd` lists for it, the dynamic loader included, at the same paths moved under /usr
// (the tree has merged /usr: `/lib -> usr/lib`, `/lib64 -> usr/lib64`, so `/lib64/ld-linux-…`
// still resolves there). A host path that is a symlink (`librpm.so.9 -> librpm.so.9.2.0`,
// `/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/…`) becomes a relative symlink to the
// real file, as on the host. Nothing else the binaries may open (locales, /etc files) is copied.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

extension RpmSpecFile {
    /// The entries that make `executables` runnable with `chroot TREE …` in a merged-/usr tree.
    ///
    /// - Parameter executables: absolute host paths of dynamically linked executables.
    /// - Returns: regular files (copied when the repository is built) and symlinks, sorted by path.
    /// - Throws: ``StrataError`` `.notFound` when an executable or a library is missing,
    ///   `.toolFailed` when `ldd` fails.
    public static func hostExecutables(_ executables: [String]) async throws -> [RpmSpecFile] {
        var byPath: [String: RpmSpecFile] = [:]
        for executable in executables {
            var hostPaths = [executable]
            let ldd = try await Shell.run("ldd", [executable], environment: ["LC_ALL": "C"], timeout: .seconds(30))
            for line in ldd.output.split(separator: "\n") {
                if line.contains("not found") {
                    throw StrataError(.notFound, "ldd \(executable): \(line.trimmingCharacters(in: .whitespaces))")
                }
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") {
                    hostPaths.append(words[arrow + 1])
                } else if let first = words.first, first.hasPrefix("/") {
                    hostPaths.append(first)  // the loader: `/lib64/ld-linux-x86-64.so.2 (0x…)`
                }
            }
            for hostPath in hostPaths {
                for entry in try entries(forHostPath: hostPath) { byPath[entry.path] = entry }
            }
        }
        return byPath.values.sorted { $0.path < $1.path }
    }

    /// The real file, and a symlink when `hostPath` reaches it through one.
    private static func entries(forHostPath hostPath: String) throws -> [RpmSpecFile] {
        guard let resolved = realpath(hostPath, nil) else {
            throw StrataError(.notFound, "host file '\(hostPath)': \(StrataError.reason(errno: errno))")
        }
        defer { free(resolved) }
        let real = mergedUsr(String(cString: resolved))
        let named = mergedUsr(hostPath)
        var result = [RpmSpecFile.copy(of: hostPath, to: real)]
        if named != real {
            result.append(
                .symlink(named, to: relativePath(from: (named as NSString).deletingLastPathComponent, to: real)))
        }
        return result
    }

    /// `path` with `/bin`, `/sbin`, `/lib`, `/lib64` moved under `/usr`.
    static func mergedUsr(_ path: String) -> String {
        for top in ["/bin/", "/sbin/", "/lib/", "/lib64/"] where path.hasPrefix(top) { return "/usr" + path }
        return path
    }

    /// A relative symlink target that leads from directory `from` to `to` (both absolute).
    static func relativePath(from directory: String, to target: String) -> String {
        let base = directory.split(separator: "/")
        let goal = target.split(separator: "/")
        var common = 0
        while common < base.count, common < goal.count - 1, base[common] == goal[common] { common += 1 }
        let up = Array(repeating: "..", count: base.count - common)
        return (up + goal[common...].map(String.init)).joined(separator: "/")
    }
}
