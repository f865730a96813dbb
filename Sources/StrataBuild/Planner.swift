// The plan stage of the data path: TemplateSpec → the URL of each repository (--mirror, the
// host's mirrors) → the packager's resolution (verified indexes, libsolv with its policy) →
// Lockfile. Which packager resolves is the template's family; the executable registers them.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

public struct Planner: Sendable {
    public let fetcher: any Fetcher
    public let mirrors: MirrorMap
    public let packagers: Packagers

    public init(fetcher: any Fetcher, mirrors: MirrorMap, packagers: Packagers) {
        self.fetcher = fetcher
        self.mirrors = mirrors
        self.packagers = packagers
    }

    public typealias Resolution = StrataPackaging.Resolution

    /// Resolves `spec` against its repositories as they are now.
    /// A lock resolved before from the same inputs (the same signed indexes, template and strata)
    /// is the answer without solving, unless `resolveAgain`.
    /// - Parameters:
    ///   - why: a package name to explain (`strata resolve --why`); always solves.
    ///   - resolveAgain: solve even when the store has a lock of the same inputs.
    /// - Throws: ``StrataError``: `.verificationFailed` for an index that does not verify,
    ///   `.unsatisfiable` with libsolv's problems, `.notFound` for a requested name nothing provides.
    public func resolve(_ spec: TemplateSpec, why: String? = nil, resolveAgain: Bool = false) async throws -> Resolution {
        try Self.refuseApplication(spec)
        try mirrors.check(spec)
        let packager = try packagers.packager(for: spec.family)
        var urls = [String: String]()
        for repository in spec.repositories { urls[repository.name] = try mirrors.url(for: repository) }
        return try await packager.resolve(
            ResolveRequest(spec: spec, urls: urls, why: why, resolveAgain: resolveAgain), fetcher: fetcher)
    }

    /// An application template has no lockfile of its own: it is resolved onto its base's
    /// commit when it is built.
    public static func refuseApplication(_ spec: TemplateSpec, _ what: String = "locked or resolved on its own") throws {
        guard let base = spec.base else { return }
        throw StrataError(
            .invalidInput,
            "\(spec.origins["@base"].map { "\($0): " } ?? "")set \(spec.set) is an application template (@base \(base)): "
                + "it is not \(what); `strata build \(spec.target) --set \(spec.set)` layers it onto the base's commit "
                + "(lock the base: --set \(base))")
    }
}
