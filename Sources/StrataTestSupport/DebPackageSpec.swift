// What a fixture .deb holds: the control fields apt and dpkg act on, a few files, and optional
// maintainer scripts. DebFixtureRepo turns each spec into a real package with `dpkg-deb --build`.
import Foundation

/// One binary package to build for a fixture repository, and where it is published.
public struct DebPackageSpec: Sendable, Hashable {
    /// `Package:`.
    public var name: String
    /// `Version:`, with epoch and revision as Debian writes them (`2:9.0-1`).
    public var version: String
    /// `Architecture:` (`amd64`, `i386`, `all`).
    public var architecture: String
    /// `Depends:`, verbatim (`a (>= 1.0) | b, c:any`).
    public var depends: String?
    /// `Pre-Depends:`, verbatim.
    public var preDepends: String?
    /// `Recommends:`, verbatim.
    public var recommends: String?
    /// `Provides:`, verbatim (`mail-transport-agent, smtp-api (= 3.0)`).
    public var provides: String?
    /// `Conflicts:`, verbatim.
    public var conflicts: String?
    /// `Breaks:`, verbatim.
    public var breaks: String?
    /// `Replaces:`, verbatim.
    public var replaces: String?
    /// `Multi-Arch:` (`same`, `foreign`, `allowed`).
    public var multiArch: String?
    /// `Essential: yes` when set.
    public var essential: Bool
    /// `Priority:` (`required`, `important`, `standard`, `optional`).
    public var priority: String
    /// `Section:`.
    public var section: String
    /// The first line of `Description:`.
    public var summary: String
    /// Files in the package: absolute path inside the root filesystem → content.
    public var files: [String: String]
    /// Paths among ``files`` listed in `DEBIAN/conffiles`.
    public var conffiles: [String]
    /// Maintainer scripts (`preinst`, `postinst`, `prerm`, `postrm`) → script text.
    public var maintainerScripts: [String: String]
    /// The suites (`dists/<suite>`) whose indexes list the package.
    public var suites: [String]
    /// The component (`main`, `contrib`) it is published in; also its pool directory.
    public var component: String

    /// Creates a spec; every field past `architecture` has a plain default.
    public init(
        name: String, version: String, architecture: String = "amd64",
        depends: String? = nil, preDepends: String? = nil, recommends: String? = nil,
        provides: String? = nil, conflicts: String? = nil, breaks: String? = nil, replaces: String? = nil,
        multiArch: String? = nil, essential: Bool = false, priority: String = "optional",
        section: String = "misc", summary: String? = nil,
        files: [String: String] = [:], conffiles: [String] = [], maintainerScripts: [String: String] = [:],
        suites: [String] = ["stable"], component: String = "main"
    ) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.depends = depends
        self.preDepends = preDepends
        self.recommends = recommends
        self.provides = provides
        self.conflicts = conflicts
        self.breaks = breaks
        self.replaces = replaces
        self.multiArch = multiArch
        self.essential = essential
        self.priority = priority
        self.section = section
        self.summary = summary ?? "strata test fixture \(name)"
        self.files = files
        self.conffiles = conffiles
        self.maintainerScripts = maintainerScripts
        self.suites = suites
        self.component = component
    }

    /// The version without its epoch, as it appears in file names.
    public var fileVersion: String {
        guard let colon = version.firstIndex(of: ":") else { return version }
        return String(version[version.index(after: colon)...])
    }

    /// `name_version_arch.deb`.
    public var fileName: String { "\(name)_\(fileVersion)_\(architecture).deb" }

    /// The pool directory relative to the repository root: `pool/main/b/base-files`,
    /// `pool/main/libc/libc-mini` (Debian's `lib?` rule).
    public var poolDirectory: String {
        let prefix = name.hasPrefix("lib") && name.count > 3 ? String(name.prefix(4)) : String(name.prefix(1))
        return "pool/\(component)/\(prefix)/\(name)"
    }

    /// The `DEBIAN/control` text.
    public var controlFile: String {
        var lines = [
            "Package: \(name)", "Version: \(version)", "Architecture: \(architecture)",
            "Maintainer: Strata Tests <tests@strata.invalid>",
        ]
        if essential { lines.append("Essential: yes") }
        if let multiArch { lines.append("Multi-Arch: \(multiArch)") }
        lines.append("Priority: \(priority)")
        lines.append("Section: \(section)")
        for (field, value) in [
            ("Pre-Depends", preDepends), ("Depends", depends), ("Recommends", recommends),
            ("Provides", provides), ("Conflicts", conflicts), ("Breaks", breaks), ("Replaces", replaces),
        ] {
            if let value { lines.append("\(field): \(value)") }
        }
        lines.append("Description: \(summary)")
        lines.append(" Built by strata's test support; not a real package.")
        return lines.joined(separator: "\n") + "\n"
    }
}
