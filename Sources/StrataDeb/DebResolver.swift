// Resolving a Debian template: the pool from the verified indexes, the request from the
// template's names and selectors, apt's choices as favour jobs, and the lockfile from the result.
import Foundation
import StrataCore
import StrataPackaging
import StrataSolver
import StrataStore
import StrataTemplate

struct DebResolver {
    let spec: TemplateSpec
    let indexes: [DebRepositoryIndexes]
    let store: BlobStore

    func resolve(why: String?) throws -> Resolution {
        let pool = try SolvPool(family: .deb, architecture: spec.architecture)
        for index in indexes { try pool.addDebian(index, store: store) }
        if !spec.dummies.isEmpty {
            let repo = pool.makeRepo(name: AptPolicy.dummyRepository)
            repo.setPriority(99)
            for dummy in spec.dummies { repo.addDummy(name: dummy.name, version: dummy.version, provides: dummy.provides) }
            repo.internalize()
        }
        let policy = AptPolicy(pool: pool)
        let dropped = Set(spec.dropped)

        // Selectors match in the first repository (the base suite), as mmdebstrap narrows to it;
        // the essential set is its own first phase, as mmdebstrap installs it first.
        let base: Set<String> = spec.repositories.first.map { [$0.name] } ?? []
        var essentialPhase = [SolvableID]()
        var restPhase = [SolvableID]()
        for selector in spec.selectors {
            let matches = policy.matching(selector, inRepositories: base).filter { !dropped.contains(pool.name(of: $0)) }
            if selector == .essential { essentialPhase += matches } else { restPhase += matches }
        }
        for name in spec.packages {
            guard let candidate = policy.candidates[name] else {
                let providers = pool.providers(of: pool.dependency(named: name)).filter(policy.isCandidate)
                guard let provider = providers.first else {
                    let hint = NameSuggestion.hint(for: name, in: Array(policy.candidates.keys))
                    throw StrataError(
                        .notFound,
                        "\(spec.origin(of: name))\(spec.target) --set \(spec.set): no package named '\(name)' in "
                            + "\(indexNames)\(hint)")
                }
                guard providers.count == 1 else {
                    let names = providers.map { pool.name(of: $0) }.sorted().joined(separator: ", ")
                    throw StrataError(.invalidInput, "'\(name)' is a virtual package provided by \(names): name one of them")
                }
                restPhase.append(provider)
                continue
            }
            restPhase.append(candidate)
        }
        let requested = Array(Set(essentialPhase + restPhase))
        guard !requested.isEmpty else {
            throw StrataError(.invalidInput, "\(spec.target) --set \(spec.set) selects no packages")
        }
        let favored = policy.choices(phases: [unique(essentialPhase), unique(restPhase)])

        var request = SolveRequest()
        request.installExactly = requested.sorted()
        request.favor = favored.sorted()
        let solved = try pool.solve(request)
        let result = solved.filter { pool.repoName(of: $0) != AptPolicy.dummyRepository }
        let usedDummies = solved.filter { pool.repoName(of: $0) == AptPolicy.dummyRepository }.map { id in
            spec.dummies.first { $0.name == pool.name(of: id) }
        }.compactMap { $0 }.sorted { $0.name < $1.name }
        var lock = try lockfile(pool: pool, result: result)
        lock.dummies = usedDummies.isEmpty ? nil : usedDummies
        // A `name-` that something else still pulls in did nothing: say so, with what pulls it.
        let installedNames = Set(result.map { pool.name(of: $0) })
        for name in spec.dropped where installedNames.contains(name) {
            let chain = pool.explain(name, result: solved, roots: Set(requested), set: spec.set)
            Diagnostics.warning(
                "\(spec.origin(of: name))'\(name)-' has no effect: \(name) is still installed: "
                    + chain.joined(separator: "; "))
        }
        let chain = why.map { pool.explain($0, result: solved, roots: Set(requested), set: spec.set) }
        return Resolution(lockfile: lock, why: chain)
    }

    var indexNames: String { indexes.map { "\($0.source.name) (\($0.source.suite))" }.joined(separator: ", ") }

    func unique(_ ids: [SolvableID]) -> [SolvableID] {
        var seen = Set<SolvableID>()
        return ids.filter { seen.insert($0).inserted }
    }

    func lockfile(pool: SolvPool, result: [SolvableID]) throws -> Lockfile {
        let packages = try pool.lockedPackages(result)
        let iso = ISO8601DateFormatter()
        let repositories = indexes.map { index in
            Lockfile.Repository(
                name: index.source.name, url: index.source.url, suite: index.source.suite,
                release: .init(path: index.releasePath, sha256: index.releaseDigest, size: nil),
                date: index.release.date.map { iso.string(from: $0) },
                indexes: index.packages.map {
                    .init(path: "dists/\(index.source.suite)/\($0.path)", sha256: $0.sha256, size: $0.size)
                })
        }
        return Lockfile(
            lockfileVersion: Lockfile.currentVersion, target: spec.target, set: spec.set, family: .deb,
            architecture: spec.architecture.debian, configDigest: spec.configDigest, repositories: repositories,
            packages: packages)
    }
}
