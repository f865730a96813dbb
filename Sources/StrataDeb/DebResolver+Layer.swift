// Resolving a layer onto a Debian base: the base's installed packages (its dpkg status file) are
// libsolv's installed repository, each locked; the additions are chosen as `apt-get install`
// would choose them on that system (what the base has satisfies a dependency first). A request
// the base already satisfies is inactive. When an addition needs another version of a base
// package, the solve is run again with the base free to change, only to name each such pair.
import Foundation
import StrataCore
import StrataPackaging
import StrataSolver
import StrataTemplate

extension DebResolver {
    static let baseRepository = "@base"
    static let statusPath = "the base's var/lib/dpkg/status"

    /// The installed packages of a dpkg status file, each with its stanza as written (a removed
    /// package's config-files stanza is not installed).
    static func installed(status: [UInt8]) throws -> [(name: String, stanza: Deb822Stanza, block: String)] {
        var installed = [(name: String, stanza: Deb822Stanza, block: String)]()
        for block in String(decoding: status, as: UTF8.self).components(separatedBy: "\n\n")
        where !block.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            guard let stanza = try Deb822.parse(block, what: statusPath).first,
                (stanza["Status"] ?? "").hasSuffix(" installed"), let name = stanza["Package"]
            else { continue }
            installed.append((name, stanza, block.trimmingCharacters(in: .newlines)))
        }
        return installed
    }

    func resolveLayer(status: [UInt8], add: [String], remove: [String]) throws -> LayerResolution {
        let pool = try SolvPool(family: .deb, architecture: spec.architecture)
        for index in indexes { try pool.addDebian(index, store: store) }
        // Only installed packages (a base strata built has no others; a removed one's
        // config-files stanza would otherwise count as installed).
        let what = DebResolver.statusPath
        let installedStanzas = try Self.installed(status: status)
        let installedBlocks = installedStanzas.map(\.block)
        let essential = Set(installedStanzas.filter { $0.stanza["Essential"] == "yes" }.map(\.name))
        let base = pool.makeRepo(name: Self.baseRepository)
        try base.addDebianPackages(Array((installedBlocks.joined(separator: "\n\n") + "\n").utf8), what: what)
        base.internalize()
        pool.setInstalled(base)
        let installed = base.solvables
        let installedByName = Dictionary(installed.map { (pool.name(of: $0), $0) }, uniquingKeysWith: { a, _ in a })
        // The template's dummies satisfy an addition's dependencies as in a build (those the
        // base has already are its own).
        let dummies = spec.dummies.filter { installedByName[$0.name] == nil }
        if !dummies.isEmpty {
            let repo = pool.makeRepo(name: AptPolicy.dummyRepository)
            repo.setPriority(99)
            for dummy in dummies { repo.addDummy(name: dummy.name, version: dummy.version, provides: dummy.provides) }
            repo.internalize()
        }
        let policy = AptPolicy(pool: pool, excluding: Self.baseRepository)

        var inactive = [String: String]()
        var requested = [SolvableID]()
        for name in add {
            if let id = installedByName[name] {
                inactive[name] = "\(name) \(pool.version(of: id))"
                continue
            }
            if let provider = pool.providers(of: pool.dependency(named: name)).first(where: installed.contains) {
                inactive[name] = "\(pool.name(of: provider)) \(pool.version(of: provider)) (provides \(name))"
                continue
            }
            if let candidate = policy.candidates[name] {
                requested.append(candidate)
                continue
            }
            let providers = pool.providers(of: pool.dependency(named: name)).filter(policy.isCandidate)
            guard let provider = providers.first else {
                let hint = NameSuggestion.hint(for: name, in: Array(policy.candidates.keys))
                throw StrataError(.notFound, "--add \(name): no package named '\(name)' in \(indexNames)\(hint)")
            }
            guard providers.count == 1 else {
                let names = providers.map { pool.name(of: $0) }.sorted().joined(separator: ", ")
                throw StrataError(.invalidInput, "--add \(name): a virtual package provided by \(names): name one of them")
            }
            requested.append(provider)
        }
        var erase = [SolvableID]()
        for name in remove {
            guard let id = installedByName[name] else {
                throw StrataError(.notFound, "--remove \(name): the base has no package '\(name)' installed")
            }
            guard !essential.contains(name) else {
                throw StrataError(.invalidInput, "--remove \(name): it is Essential: yes in the base (dpkg refuses to remove it)")
            }
            erase.append(id)
        }
        try refuseNeeded(erase, installed: installed, pool: pool)

        let requestedSet = Set(requested)
        var request = SolveRequest()
        request.installExactly = requested.sorted()
        request.favor = policy.choices(phases: [unique(requested)], installed: Set(installed).subtracting(erase)).sorted()
        request.installed = base
        request.erase = erase
        let change: SolveChange
        do {
            change = try pool.solveChange(request)
        } catch let error as StrataError where error.code == .unsatisfiable {
            throw skew(request, pool: pool, requested: requestedSet) ?? error
        }
        let removed = change.removed.map { pool.name(of: $0) }
        guard Set(change.removed) == Set(erase) else {
            throw StrataError.internalError("the layer's solve removes base packages it was not asked to: \(removed)")
        }
        let isDummy = { (id: SolvableID) in pool.repoName(of: id) == AptPolicy.dummyRepository }
        var lock = try lockfile(pool: pool, result: change.added.filter { !isDummy($0) })
        let used = Set(change.added.filter(isDummy).map { pool.name(of: $0) })
        let usedDummies = dummies.filter { used.contains($0.name) }.sorted { $0.name < $1.name }
        lock.dummies = usedDummies.isEmpty ? nil : usedDummies
        return LayerResolution(lockfile: lock, inactive: inactive, removed: removed)
    }

    /// Refuses to remove a package that a base package staying still needs, naming each that
    /// needs it and through which dependency.
    func refuseNeeded(_ erase: [SolvableID], installed: [SolvableID], pool: SolvPool) throws {
        guard !erase.isEmpty else { return }
        let gone = Set(erase)
        let staying = Set(installed).subtracting(gone)
        var lines = [String]()
        for id in staying.sorted() {
            for kind in [DependencyKind.preDepends, .depends] {
                for group in pool.dependencies(of: id, kind) {
                    let providers = group.flatMap { pool.providers(of: $0) }
                    guard providers.contains(where: gone.contains), !providers.contains(where: staying.contains) else { continue }
                    let needed = providers.filter(gone.contains).map { pool.name(of: $0) }.sorted().joined(separator: ", ")
                    let label = kind == .preDepends ? "Pre-Depends" : "Depends"
                    lines.append(
                        "  \(needed) is needed by \(pool.name(of: id)) \(pool.version(of: id)) (\(label): "
                            + group.map { pool.describe($0) }.joined(separator: " | ") + ")")
                }
            }
        }
        guard !lines.isEmpty else { return }
        throw StrataError(
            .unsatisfiable,
            "cannot remove what the rest of the base still needs:\n" + lines.joined(separator: "\n")
                + "\n(remove those too, or leave it)")
    }

    /// Why the base cannot stay as it is: the solve again with the base free to change, each
    /// base package it replaces named with the version the base has and what needs the other.
    func skew(_ locked: SolveRequest, pool: SolvPool, requested: Set<SolvableID>) -> StrataError? {
        var free = locked
        free.keepInstalled = false
        guard let change = try? pool.solveChange(free) else { return nil }
        let erased = Set(locked.erase)
        let replaced = change.removed.filter { !erased.contains($0) }
        guard !replaced.isEmpty else { return nil }
        let after = Set((locked.installed?.solvables ?? []).filter { !change.removed.contains($0) }).union(change.added)
        var lines = [String]()
        for old in replaced {
            let name = pool.name(of: old)
            guard let new = change.added.first(where: { pool.name(of: $0) == name }) else {
                lines.append("  \(name) \(pool.version(of: old)) in the base would have to be removed")
                continue
            }
            let chain = pool.explain(name, result: Array(after), roots: requested, set: spec.set)
            // The last link says which package needs which version: `curl 8.5 Depends: libcurl4 (= 8.5) -> libcurl4 8.5`.
            let need = chain.count > 1 ? chain.last.map { String($0[..<($0.range(of: " -> ")?.lowerBound ?? $0.endIndex)]) } : nil
            lines.append(
                "  \(need ?? "the additions need \(name) \(pool.version(of: new))"), the base has \(name) \(pool.version(of: old))"
                    + (chain.count > 2 ? "\n    (\(chain.dropLast().joined(separator: "; ")))" : ""))
        }
        return StrataError(
            .unsatisfiable,
            "the base cannot stay as it is: the additions need other versions of base packages:\n"
                + lines.joined(separator: "\n")
                + "\nwhat would resolve it: a base built from the indexes the additions come from "
                + "(`strata lock --resolve` and `strata build` of the base), then the layer again (`strata upgrade`); "
                + "or add versions that match the base's")
    }
}
