// Choosing the way apt chooses, so that `strata lock` and `apt-get install` give the same set.
//
// libsolv satisfies `a | b` or a virtual package with whichever provider its own policy likes;
// apt's depcache marks greedily instead: the requested packages first, then, depth-first, each
// dependency that nothing marked satisfies yet, with the first alternative whose candidate
// (highest installable version) satisfies it, a real package before a provider. We replay that
// walk over the pool and hand its choices to libsolv as SOLVER_FAVOR jobs: libsolv still proves
// the set consistent (Conflicts, Breaks, versions) and explains what cannot be satisfied.
import StrataCore
import StrataSolver

public struct AptPolicy {
    /// The repository a template's dummy packages live in; they win over same-named packages.
    public static let dummyRepository = "strata-dummies"

    let pool: SolvPool
    /// apt's candidate for each name: its highest installable version.
    public let candidates: [String: SolvableID]

    /// - Parameter excluding: a repository whose packages are never candidates (a layer's
    ///   installed base, which stays as it is).
    public init(pool: SolvPool, excluding: String? = nil) {
        self.pool = pool
        var best = [String: SolvableID]()
        for id in pool.allSolvables where pool.isInstallable(id) && (excluding == nil || pool.repoName(of: id) != excluding) {
            let name = pool.name(of: id)
            if let current = best[name] {
                let currentIsDummy = pool.repoName(of: current) == Self.dummyRepository
                let isDummy = pool.repoName(of: id) == Self.dummyRepository
                if currentIsDummy && !isDummy { continue }
                if currentIsDummy == isDummy, pool.compareVersions(pool.version(of: current), pool.version(of: id)) >= 0 {
                    continue
                }
            }
            best[name] = id
        }
        candidates = best
    }

    /// The packages apt would mark, walking `phases` in order (mmdebstrap installs the essential
    /// set first, then the rest): each phase's packages are marked, then their dependencies.
    /// - Parameter installed: packages already installed (a layer's base): a dependency they
    ///   satisfy is not chosen again, as apt keeps what is installed.
    public func choices(phases: [[SolvableID]], installed: Set<SolvableID> = []) -> Set<SolvableID> {
        var walk = Walk(policy: self)
        walk.marked = installed
        for phase in phases {
            for id in phase { walk.mark(id) }
            for id in phase { walk.installDependencies(of: id) }
        }
        return walk.marked.subtracting(installed)
    }

    public func isCandidate(_ id: SolvableID) -> Bool { candidates[pool.name(of: id)] == id }

    private struct Walk {
        let policy: AptPolicy
        var marked = Set<SolvableID>()
        var expanded = Set<SolvableID>()

        mutating func mark(_ id: SolvableID) { marked.insert(id) }

        mutating func installDependencies(of id: SolvableID) {
            guard expanded.insert(id).inserted else { return }
            let pool = policy.pool
            for group in pool.dependencies(of: id, .preDepends) + pool.dependencies(of: id, .depends) {
                if group.contains(where: { pool.providers(of: $0).contains(where: marked.contains) }) { continue }
                guard let chosen = choose(group) else { continue }  // libsolv will explain it
                mark(chosen)
                installDependencies(of: chosen)
            }
        }

        func choose(_ group: [DependencyID]) -> SolvableID? {
            let pool = policy.pool
            for alternative in group {
                let providers = pool.providers(of: alternative).filter(policy.isCandidate)
                let name = pool.dependencyName(alternative)
                if let real = providers.first(where: { pool.name(of: $0) == name }) { return real }
                // A virtual package: apt takes the provider it ranks first; we rank by priority, then name.
                if let provider = providers.min(by: { rank($0) < rank($1) }) { return provider }
            }
            return nil
        }

        func rank(_ id: SolvableID) -> (Int, String) {
            let order = ["required": 0, "important": 1, "standard": 2, "optional": 3, "extra": 4]
            let priority = policy.pool.attribute(DebAttribute.priority, of: id) ?? "optional"
            return (order[priority] ?? 5, policy.pool.name(of: id))
        }
    }
}

extension AptPolicy {
    /// The candidates a selector matches, among the packages of `repositories` (mmdebstrap
    /// narrows to the base suite), sorted by name.
    public func matching(_ selector: PackageSelector, inRepositories repositories: Set<String>) -> [SolvableID] {
        var names = Set<String>()
        for id in pool.allSolvables where repositories.contains(pool.repoName(of: id)) && pool.isInstallable(id) {
            let matches: Bool
            switch selector {
            case .essential: matches = pool.attribute(DebAttribute.essential, of: id) == "yes"
            case .priority(let wanted): matches = pool.attribute(DebAttribute.priority, of: id) == wanted
            }
            if matches { names.insert(pool.name(of: id)) }
        }
        return names.sorted().compactMap { candidates[$0] }
    }
}
