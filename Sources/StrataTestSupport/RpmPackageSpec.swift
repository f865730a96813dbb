// What a fixture .rpm holds. RpmFixtureRepo writes one spec file per package and builds it with
// `rpmbuild -bb`; automatic dependency generation is off (AutoReqProv: no), so the package
// requires exactly what the spec says, plus the interpreters of its scriptlets, which rpmbuild
// always adds (`Requires(pre): /bin/sh`). How the spec file is written and the build root
// staged is in RpmPackageSpec+SpecFile.swift.
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
    /// `Provides:` entries (`MTA`, `foo-abi = 1`, `/bin/sh`).
    public var provides: [String]
    /// `Conflicts:` entries.
    public var conflicts: [String]
    /// `Obsoletes:` entries.
    public var obsoletes: [String]
    /// `Recommends:` entries: weak dependencies, installed by dnf by default
    /// (`install_weak_deps=True`) when they can be.
    public var recommends: [String]
    /// `Suggests:` entries: very weak dependencies, never installed by themselves; libsolv prefers
    /// a suggested package when it chooses among the providers of a requirement.
    public var suggests: [String]
    /// `Supplements:` entries: reverse weak dependencies (installed when what they name is).
    public var supplements: [String]
    /// `Enhances:` entries: reverse very weak dependencies.
    public var enhances: [String]
    /// `Requires(<phase>):` entries: what a scriptlet of that phase needs installed before it runs
    /// (`[.pre: ["busybox"]]` for a `%pre` that calls `useradd`); rpm orders the transaction by them.
    public var scriptletRequires: [RpmSpecScriptlet.Phase: [String]]
    /// `Summary:`.
    public var summary: String
    /// Plain files in the package: absolute path → UTF-8 content, mode 0644, owned by root.
    public var files: [String: String]
    /// Every other `%files` entry: directories, symlinks, hardlinks, binary or host files, and
    /// files with `%attr`, `%caps`, `%config`, `%ghost` or `%doc`. A path may not be in both.
    public var entries: [RpmSpecFile]
    /// `%pre`, `%post`, … at most one per phase.
    public var scriptlets: [RpmSpecScriptlet]
    /// `%filetriggerin -- /prefix`, `%transfiletriggerin`, …
    public var fileTriggers: [RpmSpecFileTrigger]
    /// rpmbuild's `_binary_payload`: how the payload is compressed (`w3.zstdio` as Fedora and
    /// EL9 do it, at a fast level; `w6.xzdio`; `w9.gzdio`); rpmbuild's default (gzip 9 here) when `nil`.
    public var payloadCompression: String?

    /// Creates a spec; everything past `version` has a plain default.
    public init(
        name: String, version: String, release: String = "1", epoch: Int? = nil, architecture: String = "noarch",
        requires: [String] = [], provides: [String] = [], conflicts: [String] = [], obsoletes: [String] = [],
        summary: String? = nil, files: [String: String] = [:], recommends: [String] = [], suggests: [String] = [],
        supplements: [String] = [], enhances: [String] = [],
        scriptletRequires: [RpmSpecScriptlet.Phase: [String]] = [:], entries: [RpmSpecFile] = [],
        scriptlets: [RpmSpecScriptlet] = [], fileTriggers: [RpmSpecFileTrigger] = [], payloadCompression: String? = nil
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
        self.recommends = recommends
        self.suggests = suggests
        self.supplements = supplements
        self.enhances = enhances
        self.scriptletRequires = scriptletRequires
        self.entries = entries
        self.scriptlets = scriptlets
        self.fileTriggers = fileTriggers
        self.payloadCompression = payloadCompression
    }

    /// `name-version-release.arch.rpm`, as rpmbuild names it.
    public var fileName: String { "\(name)-\(version)-\(release).\(architecture).rpm" }

    /// `name-epoch:version-release.arch`, epoch 0 when unset: the form ``DnfOracle`` reports.
    public var nevra: String { "\(name)-\(epoch ?? 0):\(version)-\(release).\(architecture)" }

    /// ``files`` and ``entries`` as one list, sorted by path.
    public var allFiles: [RpmSpecFile] {
        (files.map { RpmSpecFile.file($0.key, $0.value) } + entries).sorted { $0.path < $1.path }
    }
}
