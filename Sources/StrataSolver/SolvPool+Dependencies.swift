// Reading dependencies out of the pool, for policies that choose the way another tool does
// (apt's first-alternative rule lives in StrataDeb and sees only these Swift values).
import CSolv
import StrataCore

/// The dependency kinds a policy walks.
public enum DependencyKind: Sendable {
    /// Debian `Pre-Depends`: must be configured before the package is unpacked.
    case preDepends
    /// Debian `Depends`, RPM `Requires`.
    case depends
    case recommends
}

extension SolvPool {
    /// The dependencies of one kind, each as its alternatives in written order
    /// (`a (>= 1) | b` is one element with two alternatives).
    public func dependencies(of id: SolvableID, _ kind: DependencyKind) -> [[DependencyID]] {
        let s = solvable(id)
        var deps = [DependencyID]()
        let repo = s.pointee.repo.pointee
        let offset: Offset
        switch kind {
        case .preDepends, .depends: offset = s.pointee.requires
        case .recommends: offset = s.pointee.recommends
        }
        guard offset != 0 else { return [] }
        // Requires are stored as: [Depends…, SOLVABLE_PREREQMARKER, Pre-Depends…, 0].
        var afterMarker = false
        var index = Int(offset)
        while true {
            let dep = repo.idarraydata[index]
            index += 1
            if dep == 0 { break }
            if dep == Id(SOLVABLE_PREREQMARKER.rawValue) {
                afterMarker = true
                continue
            }
            switch kind {
            case .preDepends where !afterMarker, .depends where afterMarker: continue
            default: deps.append(DependencyID(raw: dep))
            }
        }
        return deps.map(alternatives)
    }

    /// Splits `a | b | c` into its alternatives.
    public func alternatives(_ dep: DependencyID) -> [DependencyID] {
        guard let rel = reldep(dep.raw), rel.flags == Int32(REL_OR) else { return [dep] }
        return alternatives(DependencyID(raw: rel.name)) + alternatives(DependencyID(raw: rel.evr))
    }

    /// The package name a dependency is about (`libc6` for `libc6 (>= 2.36)`, `python3` for `python3:any`).
    public func dependencyName(_ dep: DependencyID) -> String {
        var id = dep.raw
        while let rel = reldep(id), rel.flags != Int32(REL_OR) { id = rel.name }
        return string(id)
    }

    /// The dependency as text (`libc6 (>= 2.36)`).
    public func describe(_ dep: DependencyID) -> String { String(cString: pool_dep2str(pool, dep.raw)) }

    /// The solvables that satisfy `dep` (real packages and providers, any version that matches).
    public func providers(of dep: DependencyID) -> [SolvableID] {
        prepare()
        var out = [SolvableID]()
        var index = Int(pool_whatprovides(pool, dep.raw))
        while true {
            let p = pool.pointee.whatprovidesdata[index]
            if p == 0 { break }
            out.append(SolvableID(raw: p))
            index += 1
        }
        return out
    }

    /// The solvables named exactly `name`.
    public func solvables(named name: String) -> [SolvableID] {
        let nameID = pool_str2id(pool, name, 0)
        guard nameID != 0 else { return [] }
        return providers(of: DependencyID(raw: nameID)).filter { solvable($0).pointee.name == nameID }
    }

    private func reldep(_ id: Id) -> Reldep? {
        guard id < 0 || (UInt32(bitPattern: id) & 0x8000_0000) != 0 else { return nil }
        return pool.pointee.rels[Int(UInt32(bitPattern: id) ^ 0x8000_0000)]
    }
}

extension SolvPool {
    /// The dependency on a bare name (any version), as a request or a `--why` query names it.
    public func dependency(named name: String) -> DependencyID { DependencyID(raw: intern(name)) }
}
