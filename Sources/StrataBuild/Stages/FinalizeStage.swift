// Finalize: remove what is specific to the machine and the moment of the build (the template's
// `cleanup` globs: ssh host keys, logs, apt lists, *-old files, …) and leave /etc/machine-id empty
// so systemd makes a new one on first boot; the packager then writes its sources and removes its
// tools' caches. Globs match one path component at a time with fnmatch(3) and never follow a symlink, so a
// hostile `var/log -> /var/log` cannot make cleanup delete the host's files. Cleanup never removes
// what a package ships: a matched directory a package owns is emptied of what no package owns
// (so `/var/lib/apt/lists/*` keeps apt's `partial/` and `dpkg --verify` stays clean), and a
// matched file a package ships is left in place.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

public enum Finalizer {
    /// Applies `globs` (absolute, as the template writes them) under `root`.
    /// - Parameter owned: the paths (relative, merged /usr) that packages ship.
    /// - Returns: the paths removed, relative to the root, sorted.
    public static func cleanup(root: String, globs: [String], owned: Set<String> = []) throws -> [String] {
        var removed = [String]()
        for glob in globs {
            let parts = glob.split(separator: "/").map(String.init)
            try match(root: root, relative: "", pattern: parts[...], owned: owned, removed: &removed)
        }
        return removed.sorted()
    }

    /// Removes `path` unless a package owns it; of an owned directory, removes what is not owned.
    private static func remove(root: String, path: String, owned: Set<String>, removed: inout [String]) throws {
        guard owned.contains(path) else {
            try FileManager.default.removeItem(atPath: "\(root)/\(path)")
            removed.append(path)
            return
        }
        var st = stat()
        guard lstat("\(root)/\(path)", &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
        for name in try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(path)").sorted() {
            try remove(root: root, path: "\(path)/\(name)", owned: owned, removed: &removed)
        }
    }

    private static func match(
        root: String, relative: String, pattern: ArraySlice<String>, owned: Set<String>, removed: inout [String]
    ) throws {
        guard let head = pattern.first else { return }
        let rest = pattern.dropFirst()
        let directory = relative.isEmpty ? root : "\(root)/\(relative)"
        let names: [String]
        if head.contains(where: { "*?[".contains($0) }) {
            names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
                .filter { fnmatch(head, $0, FNM_PERIOD) == 0 }
        } else {
            names = [head]
        }
        for name in names {
            let path = relative.isEmpty ? name : "\(relative)/\(name)"
            var st = stat()
            guard lstat("\(root)/\(path)", &st) == 0 else { continue }
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            if rest.isEmpty {
                try remove(root: root, path: path, owned: owned, removed: &removed)
            } else if isDirectory {  // never through a symlink
                try match(root: root, relative: path, pattern: rest, owned: owned, removed: &removed)
            }
        }
    }

    /// Empties /etc/machine-id when the tree has one.
    public static func resetMachineID(root: String) throws {
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        guard let fd = try tree.openFile("etc/machine-id", flags: O_WRONLY) else { return }
        defer { close(fd) }
        guard ftruncate(fd, 0) == 0 else { throw StrataError(.io, "cannot empty \(root)/etc/machine-id") }
    }
}
