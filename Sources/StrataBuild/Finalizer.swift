// Finalize: remove what is specific to the machine and the moment of the build (the template's
// `cleanup` globs: ssh host keys, logs, apt lists, *-old files, …), leave /etc/machine-id empty
// so systemd makes a new one on first boot, and write the apt sources the template was built
// from. Globs match one path component at a time with fnmatch(3) and never follow a symlink, so a
// hostile `var/log -> /var/log` cannot make cleanup delete the host's files. Cleanup never removes
// what a package ships: a matched directory a package owns is emptied of what no package owns
// (so `/var/lib/apt/lists/*` keeps apt's `partial/` and `dpkg --verify` stays clean), and a
// matched file a package ships is left in place.
import Foundation
import StrataCore
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

enum Finalizer {
    /// Applies `globs` (absolute, as the template writes them) under `root`.
    /// - Parameter owned: the paths (relative, merged /usr) that packages ship.
    /// - Returns: the paths removed, relative to the root, sorted.
    static func cleanup(root: String, globs: [String], owned: Set<String> = []) throws -> [String] {
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
    static func resetMachineID(root: String) throws {
        try FileSystem.requireRealDirectories("etc", in: root)
        let path = "\(root)/etc/machine-id"
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return }
        guard truncate(path, 0) == 0 else { throw StrataError(.io, "cannot empty \(path)") }
    }

    /// Writes `/etc/apt/sources.list.d/strata.sources` (deb822): the repositories the image's
    /// apt should use, as the template declares them. A repository's `image-url` replaces the
    /// URL the build fetched from (`none` leaves it out); a `file:` URL exists only on the build
    /// host and is left out unless `image-url` names another. `trusted: true` is written as
    /// `Trusted: yes`; otherwise `Signed-By:` names the keyring, copied into
    /// `/etc/apt/keyrings/` when the tree does not have it at the same path.
    /// - Returns: one line per repository left out, saying why.
    static func writeAptSources(root: String, repositories: [Lockfile.Repository], specs: [RepositorySpec]) throws
        -> [String]
    {
        var stanzas = [String]()
        var leftOut = [String]()
        for repository in repositories {
            guard let suite = repository.suite else { continue }
            let spec = specs.first { $0.name == repository.name }
            if spec?.imageURL == RepositorySpec.notInImage {
                leftOut.append("repository '\(repository.name)' is left out of the image's apt sources (image-url: none)")
                continue
            }
            let url = spec?.imageURL ?? repository.url
            if url.lowercased().hasPrefix("file:") {
                leftOut.append(
                    "repository '\(repository.name)' is left out of the image's apt sources: \(url) exists only on the "
                        + "build host (set image-url: on the repository to name the URL the image should use)")
                continue
            }
            var lines = [
                "Types: deb", "URIs: \(url)", "Suites: \(suite)",
                "Components: \((spec?.components.isEmpty == false ? spec?.components ?? [] : ["main"]).joined(separator: " "))",
            ]
            if spec?.trusted == true {
                lines.append("Trusted: yes")
            } else if let keyring = spec?.keyring {
                lines.append("Signed-By: \(try keyringInTree(keyring, repository: repository.name, root: root))")
            }
            stanzas.append(lines.joined(separator: "\n"))
        }
        guard !stanzas.isEmpty else { return leftOut }
        try FileSystem.requireRealDirectories("etc/apt/sources.list.d", in: root)
        try FileSystem.writeAtomically(
            Array((stanzas.joined(separator: "\n\n") + "\n").utf8), to: "\(root)/etc/apt/sources.list.d/strata.sources")
        return leftOut
    }

    /// The path, inside the tree, of a keyring with the bytes of the host's `keyring`: the same
    /// path when the tree has that file (a keyring package installed it), else a copy under
    /// `/etc/apt/keyrings/` (`.asc` when armored, as apt requires).
    private static func keyringInTree(_ keyring: String, repository: String, root: String) throws -> String {
        let bytes = try FileReader.readAll(keyring)
        var st = stat()
        if lstat("\(root)\(keyring)", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
            (try? FileReader.readAll("\(root)\(keyring)")) == bytes
        {
            return keyring
        }
        let armored = bytes.starts(with: Array("-----BEGIN PGP".utf8))
        let path = "/etc/apt/keyrings/strata-\(repository).\(armored ? "asc" : "gpg")"
        try FileSystem.requireRealDirectories("etc/apt/keyrings", in: root)
        try FileSystem.writeAtomically(bytes, to: "\(root)\(path)")
        chmod("\(root)\(path)", 0o644)
        return path
    }
}
