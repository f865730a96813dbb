// Path excludes: the template's `excludes` globs (`/usr/share/doc/*`) are matched against each
// package path with fnmatch(3) as dpkg's `path-exclude` is (a `*` also matches `/`); matching
// files, links and special files are not composed. Directories stay, as dpkg keeps them. The globs
// are written to /etc/dpkg/dpkg.cfg.d/strata-excludes as `path-exclude=` lines, so packages
// installed into the template later obey them too.
import StrataCore
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

enum Excludes {
    static let configPath = "etc/dpkg/dpkg.cfg.d/strata-excludes"

    static func matches(_ entry: ComposeEntry, _ globs: [String]) -> Bool {
        if case .directory = entry.kind { return false }
        let path = "/" + entry.path
        return globs.contains { fnmatch($0, path, 0) == 0 }
    }

    static func record(_ globs: [String], in root: String) throws {
        guard !globs.isEmpty else { return }
        try FileSystem.requireRealDirectories("etc/dpkg/dpkg.cfg.d", in: root)
        let text = "# Written by strata: paths this template excludes (the template's `excludes`).\n"
            + globs.map { "path-exclude=\($0)\n" }.joined()
        try FileSystem.writeAtomically(Array(text.utf8), to: "\(root)/\(configPath)")
    }
}
