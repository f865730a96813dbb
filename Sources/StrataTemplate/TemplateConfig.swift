/// One level's `template.yaml`, as written: values are not yet inherited or expanded.
///
/// A key that is absent is `nil` (or missing from `settings`) so that merging can tell "not
/// said here" from "said to be empty".
struct TemplateConfig: Sendable {
    /// The full path of the file, for errors.
    var file: String
    /// Scalar settings (`distro`, `suite`, …), raw text before `${…}` expansion.
    var settings: [String: Located<String>] = [:]
    var repositories: [RepositoryEntry]?
    var dummies: [DummyEntry]?
    var excludes: [Located<String>]?
    var cleanup: [Located<String>]?

    /// The keys that hold structure rather than a scalar setting.
    static let structuredKeys = ["repositories", "dummies", "excludes", "cleanup"]
}

/// A `repositories:` entry. `drop: true` removes an inherited repository of that name.
struct RepositoryEntry: Sendable {
    var name: Located<String>
    var url: Located<String>?
    var mirror: Located<String>?
    var suite: Located<String>?
    var components: [Located<String>]?
    var keyring: Located<String>?
    var trusted: Bool
    var drop: Bool
    var imageURL: Located<String>?
    var path: Located<String>? = nil

    static let keys = ["name", "url", "mirror", "path", "suite", "components", "keyring", "trusted", "drop", "image-url"]
}

/// A `dummies:` entry. `drop: true` removes an inherited dummy of that name.
struct DummyEntry: Sendable {
    var name: Located<String>
    var version: Located<String>?
    var provides: [Located<String>]
    var drop: Bool

    static let keys = ["name", "version", "provides", "drop"]
}
