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

    public init(spec: TemplateSpec, urls: [String: String], why: String? = nil) {
        self.spec = spec
        self.urls = urls
        self.why = why
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

    public init(lockfile: Lockfile, why: [String]?) {
        self.lockfile = lockfile
        self.why = why
    }
}
