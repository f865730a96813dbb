import StrataCore

/// A file of a target's `config/` directories other than `template.yaml` and the `*.list` sets
/// (a hook, a sources snippet). The lowest level that has a file of that name wins.
public struct TemplateFile: Sendable, Hashable, Codable {
    /// The file name inside `config/`.
    public var name: String
    /// Absolute path of the file that applies.
    public var path: String
    /// SHA-256 of its content; the spec's `configDigest` covers this, not the path.
    public var digest: SHA256Digest

    public init(name: String, path: String, digest: SHA256Digest) {
        self.name = name
        self.path = path
        self.digest = digest
    }
}
