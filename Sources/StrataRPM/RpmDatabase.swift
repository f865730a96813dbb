// The rpmdb of a composed tree. The host's rpm registers every package as installed
// (`rpm -i --justdb`: headers only, no file touched, no script run, no plugin loaded), in the
// lockfile's install order, dated SOURCE_DATE_EPOCH (rpm 4.18 takes install time and id from it,
// so two builds write the same database). The host's rpm writes only sqlite; a tree that ships
// its own rpm gets its database rewritten by that rpm, confined in the script sandbox
// (`rpmdb --exportdb` on the host, `rpmdb --importdb` inside), so the format is the one the
// tree's tools read. Every host call names the database path: Debian's rpm would otherwise use
// ~/.rpmdb.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

struct RpmDatabase {
    /// Where the tree keeps its database (`rpmdb-path`): `/var/lib/rpm` (EL ≤ 9, Fedora < 36) or
    /// `/usr/lib/sysimage/rpm` (Fedora 36+, EL10).
    let path: String
    /// `rpmdb-backend`: `sqlite` (EL9, Fedora 33+), `bdb` (EL ≤ 8) or `ndb` (SUSE).
    let backend: String

    static let defaultPath = "/var/lib/rpm"
    static let backends = ["sqlite", "bdb", "ndb"]

    init(settings: [String: String]) {
        path = settings["rpmdb-path"] ?? Self.defaultPath
        backend = settings["rpmdb-backend"] ?? "sqlite"
    }

    /// `/usr/bin/NAME` when the tree ships it (`rpm`, `rpmdb`).
    static func own(_ name: String, in root: String) -> String? {
        var st = stat()
        guard lstat("\(root)/usr/bin/\(name)", &st) == 0,
            (st.st_mode & S_IFMT) == S_IFREG || (st.st_mode & S_IFMT) == S_IFLNK
        else { return nil }
        return "/usr/bin/\(name)"
    }

    /// Registers `packages` (in install order) in the tree at `root`.
    /// - Throws: ``StrataError`` `.invalidInput` for a backend the host cannot write when the tree
    ///   has no rpm of its own, `.toolFailed` with rpm's words.
    func register(
        _ packages: [ImportedPackage<RpmControlRecord>], excludes: [String], root: String, sourceDateEpoch: Int64
    ) throws {
        guard Self.backends.contains(backend) else {
            throw StrataError(
                .invalidInput, "rpmdb-backend '\(backend)': strata knows \(Self.backends.joined(separator: ", "))")
        }
        guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw StrataError(.invalidInput, "rpmdb-path '\(path)': an absolute path inside the tree, without '..'")
        }
        if backend != "sqlite", Self.own("rpmdb", in: root) == nil {
            throw StrataError(
                .invalidInput,
                "the template's rpmdb-backend is \(backend): this host's rpm writes only sqlite, and the tree ships no "
                    + "rpm of its own to write \(backend) (add the distribution's rpm package to the set)")
        }
        guard let rpm = Command.which("rpm") else {
            throw StrataError(.notFound, "building rpm templates needs the host's rpm (apt-get install rpm)")
        }
        let root = try Self.absolute(root)
        let relative = String(path.drop { $0 == "/" })
        try FileSystem.requireRealDirectories(relative, in: root)
        try FileSystem.makeDirectories("\(root)/\(relative)")
        // Paths the template excludes are recorded as not installed (rpm -V stays quiet on them).
        let excluded = excludes.compactMap { glob -> String? in
            let prefix = glob.hasSuffix("/*") ? String(glob.dropLast(2)) : glob
            return prefix.contains(where: { "*?[".contains($0) }) ? nil : prefix
        }
        var arguments = [
            "--root", root, "--dbpath", path, "--define", "_db_backend sqlite", "-i", "--justdb", "--nodeps",
            "--noscripts", "--notriggers", "--nosignature", "--nodigest", "--noplugins", "--ignorearch", "--ignoreos",
            "--ignoresize", "--force",
        ]
        arguments += excluded.flatMap { ["--excludepath", $0] }
        arguments += packages.map(\.file)
        let output = try Command.runBlocking(
            rpm, arguments,
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "SOURCE_DATE_EPOCH": String(sourceDateEpoch),
                          "HOME": "/nonexistent"])
        guard output.status == 0 else {
            throw StrataError(.toolFailed, "registering the packages in the tree's rpmdb failed (rpm exit \(output.status)):\n\(output.stderr.suffix(2000))")
        }
    }

    /// Rewrites the database with the tree's own rpm, confined, when the tree has one.
    func convertWithOwnRpm(root: String, sourceDateEpoch: Int64, report: (String) -> Void) throws {
        guard let own = Self.own("rpmdb", in: root), let rpmdb = Command.which("rpmdb") else { return }
        let root = try Self.absolute(root)
        report("configure: the tree's own rpm writes its database (\(backend), \(path))")
        let exported = try Command.runBlocking(
            rpmdb, ["--root", root, "--dbpath", path, "--exportdb"],
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/nonexistent"])
        guard exported.status == 0 else {
            throw StrataError(.toolFailed, "exporting the rpmdb failed:\n\(exported.stderr.suffix(2000))")
        }
        let relative = String(path.drop { $0 == "/" })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(relative)")) ?? [] {
            guard unlink("\(root)/\(relative)/\(name)") == 0 else {
                throw StrataError(.io, "cannot remove \(root)/\(relative)/\(name): \(String(cString: strerror(errno)))")
            }
        }
        let stream = "/tmp/strata-rpmdb.export"
        let tree = try RootedPath(root: root)
        defer {
            _ = try? tree.remove(String(stream.dropFirst()))
            tree.close()
        }
        try tree.write(exported.stdout, to: String(stream.dropFirst()))
        let script = "\(own) --dbpath \(path) --define '_db_backend \(backend)' --importdb < \(stream)"
        try Sandbox.run(
            root: root, script: script, environment: ["SOURCE_DATE_EPOCH": String(sourceDateEpoch)],
            what: "the tree's rpmdb --importdb")
    }

    /// `root` as an absolute path without symlinks (rpm refuses a relative `--root`; a store
    /// given as a relative `--store` makes relative build trees).
    static func absolute(_ root: String) throws -> String {
        guard let resolved = realpath(root, nil) else {
            throw StrataError(.io, "cannot resolve \(root): \(String(cString: strerror(errno)))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// What rpm leaves beside a closed sqlite database that no later open needs: its lock file and
    /// the shared-memory index (whose bytes differ run to run); an empty write-ahead log.
    func tidy(root: String) throws {
        let directory = "\(root)/\(path.drop { $0 == "/" })"
        unlink("\(directory)/.rpm.lock")
        unlink("\(directory)/rpmdb.sqlite-shm")
        var st = stat()
        if lstat("\(directory)/rpmdb.sqlite-wal", &st) == 0, st.st_size == 0 { unlink("\(directory)/rpmdb.sqlite-wal") }
    }
}
