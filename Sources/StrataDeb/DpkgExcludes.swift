// The template's excludes, written to /etc/dpkg/dpkg.cfg.d/strata-excludes as `path-exclude=`
// lines, so packages installed into the template later obey them too.
import StrataCore
import StrataPackaging

public enum DpkgExcludes {
    public static let configPath = "etc/dpkg/dpkg.cfg.d/strata-excludes"

    public static func record(_ globs: [String], in root: String) throws {
        guard !globs.isEmpty else { return }
        let text = "# Written by strata: paths this template excludes (the template's `excludes`).\n"
            + globs.map { "path-exclude=\($0)\n" }.joined()
        try RootedPath.write(Array(text.utf8), to: configPath, in: root)
    }
}
