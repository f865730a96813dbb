import StrataCore

/// Everything the template tree says about one target and one package set, after inheritance,
/// list merging and variable expansion. This is what the rest of strata consumes.
public struct TemplateSpec: Sendable, Equatable {
    /// The target as asked for, normalised: `debian/12` or `debian/12/amd64`.
    public var target: String
    /// The set asked for: `minbase`.
    public var set: String
    public var family: PackageFamily
    public var architecture: Architecture
    /// Every scalar setting in effect (`distro`, `version`, `suite`, …), after inheritance.
    public var settings: [String: String]
    public var repositories: [RepositorySpec]
    /// Packages requested by name, in first-seen order, after drops.
    public var packages: [String]
    /// Selectors requested (`?essential`), in first-seen order, after drops.
    public var selectors: [PackageSelector]
    /// Names dropped with a trailing `-`; removed from what the selectors match, too.
    public var dropped: [String]
    /// Packages that satisfy dependencies and install no files.
    public var dummies: [DummyPackage]
    /// Path globs never installed (`/usr/share/doc/*`).
    public var excludes: [String]
    /// Path globs removed when the template is finalised (machine-specific and volatile files).
    public var cleanup: [String]
    /// SHA-256 of the canonical form of everything above: the lockfile records it, so that a
    /// changed template is noticed.
    public var configDigest: SHA256Digest
    /// The other files of the target's `config/` directories, by name, the lowest level winning.
    public var files: [TemplateFile]
    /// Where each requested or dropped package name was written (`…/minbase.list:7`), for
    /// messages about it; not part of the digest (paths of the tree never are).
    public var origins: [String: String]
    /// Hooks the command line added (`--customize-hook`, …); the template's own are files
    /// (``customizeHooks()`` gives both, in order). Not in the digest: see CustomizeHook.swift.
    public var hooks: [CustomizeHook] = []
    /// An application template's base set (`@base minbase`): the set is then a layer onto the
    /// base's commit, ``packages`` its additions and ``dropped`` the base packages it removes
    /// (docs/templates.md). In the digest.
    public var base: String?

    public init(
        target: String, set: String, family: PackageFamily, architecture: Architecture,
        settings: [String: String], repositories: [RepositorySpec], packages: [String],
        selectors: [PackageSelector], dropped: [String], dummies: [DummyPackage], excludes: [String],
        cleanup: [String], configDigest: SHA256Digest, files: [TemplateFile] = [], origins: [String: String] = [:]
    ) {
        self.target = target
        self.set = set
        self.family = family
        self.architecture = architecture
        self.settings = settings
        self.repositories = repositories
        self.packages = packages
        self.selectors = selectors
        self.dropped = dropped
        self.dummies = dummies
        self.excludes = excludes
        self.cleanup = cleanup
        self.configDigest = configDigest
        self.files = files
        self.origins = origins
    }

    /// `"…/minbase.list:7: "` for a name the lists wrote, else `""`.
    public func origin(of name: String) -> String { origins[name].map { "\($0): " } ?? "" }
}
