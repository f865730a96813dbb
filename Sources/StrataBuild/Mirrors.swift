// Where a repository's `mirror:` role points. Order: `--mirror` on the command line, then the
// host's apt configuration. A role nothing names is an error that says how to name it.
import StrataCore
import StrataPackaging
import StrataTemplate

public struct MirrorMap: Sendable {
    public var roles: [String: String]
    /// The roles `--mirror` named, which a template must use (a typo is an error, not ignored).
    public var overridden: Set<String>

    public init(roles: [String: String], overridden: Set<String> = []) {
        self.roles = roles
        self.overridden = overridden
    }

    /// The schemes strata fetches from.
    static let schemes = ["http://", "https://", "file://"]

    /// The host's mirrors as its package tools' configuration names them (each packager reads
    /// its own), overridden by `overrides` (`URL` alone sets the `debian` role; `ROLE=URL` sets
    /// that role).
    /// - Throws: ``StrataError`` `.invalidInput` for an override that is not a URL.
    public static func host(packagers: Packagers, overrides: [String]) throws -> MirrorMap {
        var roles = packagers.hostMirrorRoles()
        var overridden = Set<String>()
        for override in overrides {
            let parts = override.split(separator: "=", maxSplits: 1).map(String.init)
            let (role, url) = parts.count == 2 && !parts[0].contains("/") ? (parts[0], parts[1]) : ("debian", override)
            guard url.contains("://") else {
                throw StrataError(.invalidInput, "--mirror \(override): expected URL or ROLE=URL (http://, https:// or file://)")
            }
            guard schemes.contains(where: { url.lowercased().hasPrefix($0) }) else {
                throw StrataError(
                    .invalidInput,
                    "--mirror \(override): strata fetches over http://, https:// or file://, not \(url.prefix { $0 != ":" })://")
            }
            roles[role] = url.hasSuffix("/") ? String(url.dropLast()) : url
            overridden.insert(role)
        }
        return MirrorMap(roles: roles, overridden: overridden)
    }

    /// - Throws: ``StrataError`` `.invalidInput` when `--mirror` names a role that none of
    ///   `spec`'s repositories uses, listing the roles it does use.
    public func check(_ spec: TemplateSpec) throws {
        let used = Set(spec.repositories.compactMap { $0.url == nil ? $0.mirror : nil })
        let unknown = overridden.subtracting(used).sorted()
        guard let first = unknown.first else { return }
        let suggestion = NameSuggestion.closest(to: first, in: Array(used)).map { " (did you mean '\($0)'?)" } ?? ""
        let roles = used.isEmpty ? "none: its repositories name their URLs" : used.sorted().joined(separator: ", ")
        throw StrataError(
            .invalidInput,
            "--mirror \(first)=…: \(spec.target) has no repository with mirror role '\(first)'\(suggestion); "
                + "the roles it uses: \(roles)")
    }

    /// The URL of `repository`.
    public func url(for repository: RepositorySpec) throws -> String {
        if let url = repository.url { return url }
        guard let role = repository.mirror else {
            throw StrataError(.invalidInput, "repository '\(repository.name)' has neither url nor mirror")
        }
        guard let base = roles[role] else {
            throw StrataError(
                .invalidInput,
                "repository '\(repository.name)' uses mirror role '\(role)', which neither --mirror nor the host's package sources name; pass --mirror \(role)=URL")
        }
        return repository.path.map { "\(base)/\($0)" } ?? base
    }
}
