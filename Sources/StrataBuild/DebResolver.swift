// Resolving a Debian template: the pool from the verified indexes, the request from the
// template's names and selectors, apt's choices as favour jobs, and the lockfile from the result.
import Foundation
import StrataCore
import StrataDeb
import StrataSolver
import StrataStore
import StrataTemplate

struct DebResolver {
    let spec: TemplateSpec
    let indexes: [DebRepositoryIndexes]
    let store: BlobStore

    func resolve(why: String?) throws -> Planner.Resolution {
        let pool = try SolvPool(family: .deb, architecture: spec.architecture)
        for index in indexes { try pool.addDebian(index, store: store) }
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
                    throw StrataError(.notFound, "\(spec.target) --set \(spec.set): no package named '\(name)' in \(indexNames)")
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
        let result = try pool.solve(request)
        let lock = try lockfile(pool: pool, result: result)
        let chain = why.map { explain($0, pool: pool, result: result, roots: Set(requested)) }
        return Planner.Resolution(lockfile: lock, why: chain)
    }

    private var indexNames: String { indexes.map { "\($0.source.name) (\($0.source.suite))" }.joined(separator: ", ") }

    private func unique(_ ids: [SolvableID]) -> [SolvableID] {
        var seen = Set<SolvableID>()
        return ids.filter { seen.insert($0).inserted }
    }

    private func lockfile(pool: SolvPool, result: [SolvableID]) throws -> Lockfile {
        var packages = [Lockfile.Package]()
        for id in result {
            guard let location = pool.location(of: id), let checksum = pool.checksum(of: id),
                checksum.type == "sha256", let size = pool.downloadSize(of: id)
            else {
                throw StrataError(
                    .verificationFailed,
                    "\(pool.describe(id)) in \(pool.repoName(of: id)): the index gives no Filename, SHA256 or Size for it")
            }
            packages.append(
                Lockfile.Package(
                    name: pool.name(of: id), version: pool.version(of: id), architecture: pool.arch(of: id),
                    repository: pool.repoName(of: id), path: location, sha256: try SHA256Digest(hex: checksum.hex),
                    size: size))
        }
        packages.sort { ($0.name, $0.architecture, $0.version) < ($1.name, $1.architecture, $1.version) }
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

    /// The shortest chain of dependencies from a requested package to `name`.
    private func explain(_ name: String, pool: SolvPool, result: [SolvableID], roots: Set<SolvableID>) -> [String] {
        let installed = Set(result)
        guard let target = result.first(where: { pool.name(of: $0) == name }) else {
            return ["\(name) is not in the resolved set"]
        }
        var parent = [SolvableID: (SolvableID, String)]()
        var queue = roots.sorted()
        var seen = Set(queue)
        var head = 0
        while head < queue.count {
            let current = queue[head]
            head += 1
            if current == target { break }
            for kind in [DependencyKind.preDepends, .depends] {
                for group in pool.dependencies(of: current, kind) {
                    for alternative in group {
                        for provider in pool.providers(of: alternative) where installed.contains(provider) {
                            guard seen.insert(provider).inserted else { continue }
                            let label = kind == .preDepends ? "Pre-Depends" : "Depends"
                            parent[provider] = (current, "\(label): \(pool.describe(alternative))")
                            queue.append(provider)
                        }
                    }
                }
            }
        }
        var chain = [String]()
        var node = target
        while let (from, edge) = parent[node] {
            chain.append("\(pool.name(of: from)) \(pool.version(of: from)) \(edge) -> \(pool.name(of: node)) \(pool.version(of: node))")
            node = from
        }
        chain.reverse()
        let root = node
        chain.insert("\(pool.name(of: root)) \(pool.version(of: root)) is requested by the set '\(spec.set)'", at: 0)
        return chain
    }
}
