// What a fixture .rpm holds. RpmFixtureRepo writes one spec file per package and builds it with
// `rpmbuild -bb`; automatic dependency generation is off (AutoReqProv: no), so the package
// requires exactly what the spec says.
import Foundation

/// One binary rpm to build for a fixture repository.
public struct RpmPackageSpec: Sendable, Hashable {
    /// `Name:`.
    public var name: String
    /// `Version:`.
    public var version: String
    /// `Release:`.
    public var release: String
    /// `Epoch:` when set.
    public var epoch: Int?
    /// `BuildArch:` (`noarch`, `x86_64`); must be buildable on this host.
    public var architecture: String
    /// `Requires:` entries (`libfoo >= 1.1`, `MTA`).
    public var requires: [String]
    /// `Provides:` entries (`MTA`, `foo-abi = 1`).
    public var provides: [String]
    /// `Conflicts:` entries.
    public var conflicts: [String]
    /// `Obsoletes:` entries.
    public var obsoletes: [String]
    /// `Summary:`.
    public var summary: String
    /// Files in the package: absolute path → content.
    public var files: [String: String]

    /// Creates a spec.
    public init(
        name: String, version: String, release: String = "1", epoch: Int? = nil, architecture: String = "noarch",
        requires: [String] = [], provides: [String] = [], conflicts: [String] = [], obsoletes: [String] = [],
        summary: String? = nil, files: [String: String] = [:]
    ) {
        self.name = name
        self.version = version
        self.release = release
        self.epoch = epoch
        self.architecture = architecture
        self.requires = requires
        self.provides = provides
        self.conflicts = conflicts
        self.obsoletes = obsoletes
        self.summary = summary ?? "strata test fixture \(name)"
        self.files = files
    }

    /// `name-version-release.arch.rpm`, as rpmbuild names it.
    public var fileName: String { "\(name)-\(version)-\(release).\(architecture).rpm" }

    /// The spec file text; `stage` is the directory whose tree `%install` copies.
    func specFile(stage: String) -> String {
        var lines = [
            "Name: \(name)", "Version: \(version)", "Release: \(release)", "Summary: \(summary)", "License: MIT",
            "BuildArch: \(architecture)", "AutoReqProv: no",
        ]
        if let epoch { lines.append("Epoch: \(epoch)") }
        for (tag, values) in [
            ("Requires", requires), ("Provides", provides), ("Conflicts", conflicts),
            ("Obsoletes", obsoletes),
        ] {
            lines += values.map { "\(tag): \($0)" }
        }
        lines += [
            "%global debug_package %{nil}", "%global __os_install_post %{nil}", "",
            "%description", "Built by strata's test support; not a real package.", "",
            "%install", "mkdir -p %{buildroot}", "cp -a '\(stage)/.' %{buildroot}/", "",
            "%files",
        ]
        lines += files.keys.sorted()
        return lines.joined(separator: "\n") + "\n"
    }
}
