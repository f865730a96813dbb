// Where a repository's `mirror:` role points. Order: `--mirror` on the command line, then the
// host's apt configuration. A role nothing names is an error that says how to name it.
import StrataCore
import StrataDeb

public struct MirrorMap: Sendable {
    public var roles: [String: String]

    public init(roles: [String: String]) { self.roles = roles }

    /// The host's mirrors, overridden by `overrides` (`URL` alone sets the `debian` role;
    /// `ROLE=URL` sets that role).
    /// - Throws: ``StrataError`` `.invalidInput` for an override that is not a URL.
    public static func host(overrides: [String]) throws -> MirrorMap {
        var roles = HostAptSources.mirrorRoles()
        for override in overrides {
            let parts = override.split(separator: "=", maxSplits: 1).map(String.init)
            let (role, url) = parts.count == 2 && !parts[0].contains("/") ? (parts[0], parts[1]) : ("debian", override)
            guard url.contains("://") else {
                throw StrataError(.invalidInput, "--mirror \(override): expected URL or ROLE=URL (http://, https:// or file://)")
            }
            roles[role] = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        return MirrorMap(roles: roles)
    }

    /// The URL of `repository`.
    public func url(for repository: RepositorySpec) throws -> String {
        if let url = repository.url { return url }
        guard let role = repository.mirror else {
            throw StrataError(.invalidInput, "repository '\(repository.name)' has neither url nor mirror")
        }
        guard let url = roles[role] else {
            throw StrataError(
                .invalidInput,
                "repository '\(repository.name)' uses mirror role '\(role)', which neither --mirror nor the host's apt sources name; pass --mirror \(role)=URL")
        }
        return url
    }
}
