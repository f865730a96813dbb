// What every packager's resolution shares: turning libsolv's result into lockfile entries, and
// explaining why a package is in the set.
import StrataCore
import StrataSolver

extension SolvPool {
    /// Lockfile entries for `result`, sorted; every package must have a location, a SHA-256 and a
    /// size in its (verified) index.
    public func lockedPackages(_ result: [SolvableID]) throws -> [Lockfile.Package] {
        var packages = [Lockfile.Package]()
        for id in result {
            guard let location = location(of: id), let checksum = checksum(of: id),
                checksum.type == "sha256", let size = downloadSize(of: id)
            else {
                throw StrataError(
                    .verificationFailed,
                    "\(describe(id)) in \(repoName(of: id)): its index gives no location, SHA-256 or size for it")
            }
            packages.append(
                Lockfile.Package(
                    name: name(of: id), version: version(of: id), architecture: arch(of: id),
                    repository: repoName(of: id), path: location, sha256: try SHA256Digest(hex: checksum.hex),
                    size: size))
        }
        return packages.sorted { ($0.name, $0.architecture, $0.version) < ($1.name, $1.architecture, $1.version) }
    }

    /// The shortest chain of dependencies from a requested package to `name`.
    public func explain(_ name: String, result: [SolvableID], roots: Set<SolvableID>, set: String) -> [String] {
        let pool = self
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
        chain.insert("\(pool.name(of: root)) \(pool.version(of: root)) is requested by the set '\(set)'", at: 0)
        return chain
    }
}
