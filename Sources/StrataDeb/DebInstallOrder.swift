// The order in which preinsts run when the files of every package are already in place:
// base-passwd first (its preinst creates /etc/passwd and /etc/group, which other preinsts use),
// then a topological order over Pre-Depends and Depends (dependencies before dependants; any
// alternative that is in the set counts), essential packages breaking ties first, then names.
// Cycles (Debian has a few) are broken at the package that sorts first.

extension DebPackageRecord {
    /// Names this package (Pre-)Depends on, any alternative, without versions or `:any`, and
    /// whether it is essential: one parse of its control stanza.
    var orderFacts: (dependencies: [String], essential: Bool) {
        var names = [String]()
        var essential = false
        for stanza in (try? Deb822.parse(controlStanza, what: name)) ?? [] {
            essential = essential || (stanza["Essential"] ?? "").lowercased() == "yes"
            for field in ["Pre-Depends", "Depends"] {
                for group in (stanza[field] ?? "").split(separator: ",") {
                    for alternative in group.split(separator: "|") {
                        let word = alternative.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == "\n" }).first ?? ""
                        let name = word.split(separator: ":").first.map(String.init) ?? ""
                        if !name.isEmpty { names.append(name) }
                    }
                }
            }
        }
        return (names, essential)
    }
}

public enum DebInstallOrder {
    /// `packages` in the order their preinsts should run.
    public static func order(_ packages: [DebPackageRecord]) -> [DebPackageRecord] {
        let byName = Dictionary(packages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let facts = byName.mapValues(\.orderFacts)
        var remaining = Set(byName.keys)
        var done = [DebPackageRecord]()
        // Each stanza is parsed once, above; the loop below compares names only.
        let ranks = facts.mapValues { $0.essential ? 0 : 1 }
        func rank(_ name: String) -> (Int, Int, String) {
            (name == "base-passwd" ? 0 : 1, ranks[name] ?? 1, name)
        }
        let dependencies = facts.map { name, fact in
            (name, Set(fact.dependencies).intersection(byName.keys).subtracting([name]))
        }
        let dependenciesByName = Dictionary(uniqueKeysWithValues: dependencies)
        while !remaining.isEmpty {
            let ready = remaining.filter { dependenciesByName[$0, default: []].isDisjoint(with: remaining) }
            // base-passwd goes first whatever it depends on; a cycle releases its first member.
            let next = remaining.contains("base-passwd") ? "base-passwd" : (ready.min { rank($0) < rank($1) } ?? remaining.min { rank($0) < rank($1) })
            guard let next, let record = byName[next] else { break }
            remaining.remove(next)
            done.append(record)
        }
        return done
    }
}
