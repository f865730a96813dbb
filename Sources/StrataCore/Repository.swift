/// Which packaging system a template, a repository or a pool belongs to.
public enum PackageFamily: String, Sendable, Codable, CaseIterable {
    case deb
    case rpm
}

/// One repository a template installs from, as the template tree describes it.
///
/// The location is either a literal `url` or a `mirror` role (`debian`, `debian-security`) that
/// the planner resolves from `--mirror`, the template, or the host's apt configuration; never both.
public struct RepositorySpec: Hashable, Sendable, Codable {
    /// Unique within a template: `main`, `updates`, `security`.
    public var name: String
    public var url: String?
    public var mirror: String?
    /// Debian: the suite (`bookworm-updates`). RPM: unused.
    public var suite: String?
    /// Debian: the components (`main`, `contrib`). RPM: unused.
    public var components: [String]
    /// The OpenPGP keyring that signs this repository's index, absolute path.
    public var keyring: String?
    /// Accept the index without a verified signature. Loud; never the default.
    public var trusted: Bool
    /// The URL the built image's own package sources name (`image-url:`), when it is not the
    /// one the build fetched from; ``notInImage`` leaves the repository out of them.
    public var imageURL: String?
    /// Where the repository is under its mirror role's URL (`9/BaseOS/x86_64/os`): RPM
    /// distributions keep many repositories under one mirror.
    public var path: String?

    /// `image-url: none`.
    public static let notInImage = "none"

    public init(
        name: String, url: String? = nil, mirror: String? = nil, suite: String? = nil,
        components: [String] = [], keyring: String? = nil, trusted: Bool = false, imageURL: String? = nil,
        path: String? = nil
    ) {
        self.name = name
        self.url = url
        self.mirror = mirror
        self.suite = suite
        self.components = components
        self.keyring = keyring
        self.trusted = trusted
        self.imageURL = imageURL
        self.path = path
    }
}

/// An entry of a package set that names packages by property rather than by name.
///
/// Written in list files in apt's pattern syntax: `?essential`, `?priority(required)`.
public enum PackageSelector: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Packages with `Essential: yes`.
    case essential
    /// Packages whose `Priority:` is this value (`required`, `important`, `standard`).
    case priority(String)

    public var description: String {
        switch self {
        case .essential: "?essential"
        case .priority(let p): "?priority(\(p))"
        }
    }
}

/// A package that exists only to satisfy dependencies (a kernel or udev a container does not
/// need): declared by a template, used by the resolver, recorded in the lockfile, and written into
/// a built template's package database as installed, with no files.
public struct DummyPackage: Sendable, Hashable, Codable {
    public var name: String
    public var version: String
    /// Names or `name (= version)`.
    public var provides: [String]

    public init(name: String, version: String, provides: [String] = []) {
        self.name = name
        self.version = version
        self.provides = provides
    }
}
