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

    public init() {}
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

        guard let solver = solver_create(pool) else { throw StrataError.internalError("solver_create failed") }
        defer { solver_free(solver) }
        solver_set_flag(solver, Int32(SOLVER_FLAG_IGNORE_RECOMMENDED), request.installRecommends ? 0 : 1)

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
        var out = [SolvableID]()
        for i in 0..<Int(installs.count) { out.append(SolvableID(raw: installs.elements[i])) }
        guard request.inInstallOrder else { return out.sorted() }
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
        return ordered.count == out.count ? ordered : out.sorted()
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
