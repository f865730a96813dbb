// Resolving an RPM template: the pool from the verified rpm-md repositories, the request by name
// (as `dnf install NAME` asks: a package of that name or one providing it), libsolv's own policy
// (the one dnf uses), and the lockfile from the result.
import Foundation
import StrataCore
import StrataPackaging
import StrataSolver
import StrataStore
import StrataTemplate

struct RpmResolver {
    let spec: TemplateSpec
    let indexes: [RpmRepositoryIndexes]
    let store: BlobStore

    func resolve(why: String?) throws -> Resolution {
        if let selector = spec.selectors.first {
            throw StrataError(
                .invalidInput,
                "\(spec.target) --set \(spec.set): \(selector) is a Debian selector; rpm sets name packages")
        }
        guard !spec.packages.isEmpty else {
            throw StrataError(.invalidInput, "\(spec.target) --set \(spec.set) selects no packages")
        }
        let pool = try SolvPool(family: .rpm, architecture: spec.architecture)
        for index in indexes { try pool.addRPM(index, store: store) }
        var request = SolveRequest()
        request.install = spec.packages
        // As dnf's defaults: weak dependencies (Recommends, Supplements) are installed.
        request.installRecommends = true
        request.inInstallOrder = true
        let ordered = try pool.solve(request)
        let result = ordered.sorted()
        let roots = Set(result.filter { spec.packages.contains(pool.name(of: $0)) })
        let iso = ISO8601DateFormatter()
        let repositories = indexes.map { index in
            Lockfile.Repository(
                name: index.source.name, url: index.source.baseURL, suite: nil,
                release: .init(path: "repodata/repomd.xml", sha256: index.repomdDigest, size: nil),
                date: index.timestamp.map { iso.string(from: $0) },
                indexes: [.init(path: index.primary.location, sha256: index.primary.sha256, size: index.primary.size)])
        }
        var lock = Lockfile(
            lockfileVersion: Lockfile.currentVersion, target: spec.target, set: spec.set, family: .rpm,
            architecture: spec.architecture.rpm, configDigest: spec.configDigest, repositories: repositories,
            packages: try pool.lockedPackages(result))
        lock.installOrder = ordered.map { pool.name(of: $0) }
        let chain = why.map { pool.explain($0, result: result, roots: roots, set: spec.set) }
        return Resolution(lockfile: lock, why: chain)
    }
}
