// The order in which preinsts run when the files of every package are already in place:
// base-passwd first (its preinst creates /etc/passwd and /etc/group, which other preinsts use),
// then a topological order over Pre-Depends and Depends (dependencies before dependants; any
// alternative that is in the set counts), essential packages breaking ties first, then names.
// Cycles (Debian has a few) are broken at the package that sorts first.

extension DebPackageRecord {
    /// Names this package (Pre-)Depends on, any alternative, without versions or `:any`.
    var dependencyNames: [String] {
        var names = [String]()
        for stanza in (try? Deb822.parse(controlStanza, what: name)) ?? [] {
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
        return names
    }

    var isEssential: Bool {
        ((try? Deb822.parse(controlStanza, what: name))?.first?["Essential"] ?? "").lowercased() == "yes"
    }
}

public enum DebInstallOrder {
    /// `packages` in the order their preinsts should run.
    public static func order(_ packages: [DebPackageRecord]) -> [DebPackageRecord] {
        let byName = Dictionary(packages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var remaining = Set(byName.keys)
        var done = [DebPackageRecord]()
        func rank(_ name: String) -> (Int, Int, String) {
            (name == "base-passwd" ? 0 : 1, byName[name]?.isEssential == true ? 0 : 1, name)
        }
        let dependencies = byName.mapValues { Set($0.dependencyNames).intersection(byName.keys).subtracting([$0.name]) }
        while !remaining.isEmpty {
            let ready = remaining.filter { dependencies[$0, default: []].isDisjoint(with: remaining) }
            // base-passwd goes first whatever it depends on; a cycle releases its first member.
            let next = remaining.contains("base-passwd") ? "base-passwd" : (ready.min { rank($0) < rank($1) } ?? remaining.min { rank($0) < rank($1) })
            guard let next, let record = byName[next] else { break }
            remaining.remove(next)
            done.append(record)
        }
        return done
    }
}
