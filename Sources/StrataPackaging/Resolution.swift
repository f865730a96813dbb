// The resolve stage's input and output for every packager: a template's request with the URL
// each of its repositories is fetched from now, and the lockfile (with, when asked, why a package
// is in it).
import StrataCore
import StrataTemplate

/// What to resolve.
public struct ResolveRequest: Sendable {
    public var spec: TemplateSpec
    /// Repository name → the URL it is fetched from now (`--mirror`, the host's mirrors, or its own).
    public var urls: [String: String]
    /// A package name to explain (`strata resolve --why`).
    public var why: String?
    /// Solve even when a lock of the same inputs is in the store (`lock --resolve`, `build --rebuild`).
    public var resolveAgain: Bool

    public init(spec: TemplateSpec, urls: [String: String], why: String? = nil, resolveAgain: Bool = false) {
        self.spec = spec
        self.urls = urls
        self.why = why
        self.resolveAgain = resolveAgain
    }

    /// The URL of a repository of the spec.
    public func url(of repository: RepositorySpec) throws -> String {
        guard let url = urls[repository.name] else {
            throw StrataError.internalError("repository '\(repository.name)' has no URL in the request")
        }
        return url
    }
}

/// The result of a resolution: the lockfile and, when asked, why a package is in it.
public struct Resolution: Sendable {
    public var lockfile: Lockfile
    /// The chain of dependencies from a requested package to the one asked about.
    public var why: [String]?
    /// Whether the lock was one resolved before from the same inputs (nothing was solved).
    public var reused: Bool

    public init(lockfile: Lockfile, why: [String]?, reused: Bool = false) {
        self.lockfile = lockfile
        self.why = why
        self.reused = reused
    }
}
