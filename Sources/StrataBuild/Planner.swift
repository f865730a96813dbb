// The plan stage of the data path: TemplateSpec → verified indexes → libsolv resolution →
// Lockfile. Fetching is async; resolution runs on one thread because a libsolv pool is not
// thread-safe, and every pool lives only inside one call.
import Foundation
import StrataCore
import StrataDeb
import StrataRPM
import StrataSolver
import StrataStore
import StrataTemplate

public struct Planner: Sendable {
    public let fetcher: any Fetcher
    public let mirrors: MirrorMap

    public init(fetcher: any Fetcher, mirrors: MirrorMap) {
        self.fetcher = fetcher
        self.mirrors = mirrors
    }

    /// The result of a resolution: the lockfile and, when asked, why a package is in it.
    public struct Resolution: Sendable {
        public var lockfile: Lockfile
        /// The chain of dependencies from a requested package to the one asked about.
        public var why: [String]?
    }

    /// Resolves `spec` against its repositories as they are now.
    /// - Parameter why: a package name to explain (`strata resolve --why`).
    /// - Throws: ``StrataError``: `.verificationFailed` for an index that does not verify,
    ///   `.unsatisfiable` with libsolv's problems, `.notFound` for a requested name nothing provides.
    public func resolve(_ spec: TemplateSpec, why: String? = nil) async throws -> Resolution {
        try mirrors.check(spec)
        switch spec.family {
        case .deb:
            let client = DebRepositoryClient(fetcher: fetcher, architecture: spec.architecture)
            let sources = try spec.repositories.map { repository in
                guard let suite = repository.suite else {
                    throw StrataError(.invalidInput, "repository '\(repository.name)' of \(spec.target) names no suite")
                }
                return DebRepositorySource(
                    name: repository.name, url: try mirrors.url(for: repository), suite: suite,
                    components: repository.components, keyring: repository.keyring, trusted: repository.trusted)
            }
            var indexes = [DebRepositoryIndexes]()
            for source in sources { indexes.append(try await client.fetchIndexes(source)) }
            return try DebResolver(spec: spec, indexes: indexes, store: fetcher.store).resolve(why: why)
        case .rpm:
            let client = RpmRepositoryClient(fetcher: fetcher)
            let sources = try spec.repositories.map { repository in
                RpmRepositorySource(
                    name: repository.name, baseURL: try mirrors.url(for: repository), keyring: repository.keyring,
                    trusted: repository.trusted)
            }
            var indexes = [RpmRepositoryIndexes]()
            for source in sources { indexes.append(try await client.fetchIndexes(source)) }
            return try RpmResolver(spec: spec, indexes: indexes, store: fetcher.store).resolve(why: why)
        }
    }
}
