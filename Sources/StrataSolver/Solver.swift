// Running libsolv's solver: a request (install these names, prefer these packages, avoid those)
// in, the set of packages to install (or libsolv's problems, in words) out.
import CSolv
import StrataCore

/// What to ask the solver for.
public struct SolveRequest {
    /// Install a package named or providing each of these names (as `dnf install NAME` does).
    public var install: [String] = []
    /// Install exactly these solvables (a selector's matches, an exact locked version).
    public var installExactly: [SolvableID] = []
    /// When a choice is open, choose these (apt's first alternative); libsolv's SOLVER_FAVOR.
    public var favor: [SolvableID] = []
    /// When a choice is open, avoid these; libsolv's SOLVER_DISFAVOR.
    public var disfavor: [SolvableID] = []
    /// Install Recommends / weak dependencies (Debian's mmdebstrap and debootstrap do not; dnf does).
    public var installRecommends = false
    /// Return the result in the order libsolv's transaction installs it (dependencies first, as
    /// rpm runs scriptlets) instead of sorted by id.
    public var inInstallOrder = false
    /// A layer's base: libsolv's installed repository. Its packages stay as they are (a lock job
    /// each) unless `keepInstalled` is false, when the solver may replace them (how a layer that
    /// cannot keep its base is explained).
    public var installed: SolvRepo?
    public var keepInstalled = true
    /// Installed packages to remove (a layer's `--remove`); what still needs one makes the
    /// request unsatisfiable, since everything else installed is locked.
    public var erase: [SolvableID] = []

    public init() {}
}

/// What a solve onto an installed set changes.
public struct SolveChange {
    /// Packages to install that are not installed now (sorted by id, or in install order).
    public var added: [SolvableID]
    /// Installed packages the result no longer has.
    public var removed: [SolvableID]
}

/// One problem libsolv found, with the solutions it proposes, in words.
public struct SolverProblem: Sendable, Equatable, CustomStringConvertible {
    public var problem: String
    public var solutions: [String]
    public var description: String {
        ([problem] + solutions.enumerated().map { "  solution \($0.offset + 1): \($0.element)" })
            .joined(separator: "\n")
    }
}

extension SolvPool {
    /// Resolves `request` against every repository in the pool.
    /// - Returns: the solvables to install, sorted by id (or in install order when asked).
    /// - Throws: ``StrataError`` `.unsatisfiable` listing every problem and its proposed solutions;
    ///   `.notFound` when a requested name matches nothing.
    public func solve(_ request: SolveRequest) throws -> [SolvableID] {
        try solveChange(request).added
    }

    /// Resolves `request` onto its installed repository: what to add and what goes.
    /// Without one, everything is added.
    public func solveChange(_ request: SolveRequest) throws -> SolveChange {
        setInstalled(request.installed)
        prepare()
        var jobs = Queue()
        queue_init(&jobs)
        defer { queue_free(&jobs) }

        for name in request.install {
            let dep = pool_str2id(pool, name, 0)
            guard dep != 0, pool_whatprovides(pool, dep) != 0,
                pool.pointee.whatprovidesdata[Int(pool_whatprovides(pool, dep))] != 0
            else { throw StrataError(.notFound, "no package provides '\(name)'") }
            queue_push2(&jobs, Id(SOLVER_INSTALL | SOLVER_SOLVABLE_PROVIDES), dep)
        }
        for id in request.installExactly { queue_push2(&jobs, Id(SOLVER_INSTALL | SOLVER_SOLVABLE), id.raw) }
        for id in request.favor { queue_push2(&jobs, Id(SOLVER_FAVOR | SOLVER_SOLVABLE), id.raw) }
        for id in request.disfavor { queue_push2(&jobs, Id(SOLVER_DISFAVOR | SOLVER_SOLVABLE), id.raw) }
        let installedIDs = request.installed?.solvables ?? []
        let erased = Set(request.erase)
        for id in request.erase { queue_push2(&jobs, Id(SOLVER_ERASE | SOLVER_SOLVABLE), id.raw) }
        if request.keepInstalled {
            for id in installedIDs where !erased.contains(id) { queue_push2(&jobs, Id(SOLVER_LOCK | SOLVER_SOLVABLE), id.raw) }
        }

        guard let solver = solver_create(pool) else { throw StrataError.internalError("solver_create failed") }
        defer { solver_free(solver) }
        solver_set_flag(solver, Int32(SOLVER_FLAG_IGNORE_RECOMMENDED), request.installRecommends ? 0 : 1)
        if !request.keepInstalled {
            for flag in [SOLVER_FLAG_ALLOW_DOWNGRADE, SOLVER_FLAG_ALLOW_NAMECHANGE, SOLVER_FLAG_ALLOW_VENDORCHANGE, SOLVER_FLAG_ALLOW_ARCHCHANGE] {
                solver_set_flag(solver, Int32(flag), 1)
            }
        }

        if solver_solve(solver, &jobs) != 0 {
            throw StrataError(.unsatisfiable, problemsText(solver))
        }
        guard let transaction = solver_create_transaction(solver) else {
            throw StrataError.internalError("solver_create_transaction failed")
        }
        defer { transaction_free(transaction) }
        var installs = Queue()
        queue_init(&installs)
        defer { queue_free(&installs) }
        transaction_installedresult(transaction, &installs)
        let wasInstalled = Set(installedIDs)
        var out = [SolvableID]()
        var kept = Set<SolvableID>()
        for i in 0..<Int(installs.count) {
            let id = SolvableID(raw: installs.elements[i])
            if wasInstalled.contains(id) { kept.insert(id) } else { out.append(id) }
        }
        let removed = installedIDs.filter { !kept.contains($0) }.sorted()
        guard request.inInstallOrder else { return SolveChange(added: out.sorted(), removed: removed) }
        // transaction_order sorts the steps so that what a package requires comes before it
        // (breaking cycles as rpm does); a fresh install's steps are all installs.
        transaction_order(transaction, 0)
        let chosen = Set(out)
        var ordered = [SolvableID]()
        let steps = transaction.pointee.steps
        for i in 0..<Int(steps.count) {
            let id = SolvableID(raw: steps.elements[i])
            if chosen.contains(id) { ordered.append(id) }
        }
        return SolveChange(added: ordered.count == out.count ? ordered : out.sorted(), removed: removed)
    }

    /// Every problem of a failed solve, numbered, each with libsolv's proposed solutions.
    func problems(_ solver: UnsafeMutablePointer<CSolv.Solver>) -> [SolverProblem] {
        var out = [SolverProblem]()
        let count = solver_problem_count(solver)
        guard count > 0 else { return out }
        for problem in 1...count {
            let text = String(cString: solver_problem2str(solver, Id(problem)))
            var solutions = [String]()
            let solutionCount = solver_solution_count(solver, Id(problem))
            if solutionCount > 0 {
                for solution in 1...solutionCount {
                    var parts = [String]()
                    var element: Id = 0
                    var p: Id = 0
                    var rp: Id = 0
                    while true {
                        element = solver_next_solutionelement(solver, Id(problem), Id(solution), element, &p, &rp)
                        if element == 0 { break }
                        parts.append(String(cString: solver_solutionelement2str(solver, p, rp)))
                    }
                    solutions.append(parts.joined(separator: "; "))
                }
            }
            out.append(SolverProblem(problem: text, solutions: solutions))
        }
        return out
    }

    private func problemsText(_ solver: UnsafeMutablePointer<CSolv.Solver>) -> String {
        let all = problems(solver)
        let body = all.enumerated().map { "problem \($0.offset + 1): \($0.element)" }.joined(separator: "\n")
        return "the request cannot be satisfied (\(all.count) problem\(all.count == 1 ? "" : "s")):\n\(body)"
    }
}
