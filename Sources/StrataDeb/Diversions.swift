// Diversions made by preinsts, repaired. dpkg unpacks package by package, so when B's preinst
// diverts /usr/bin/foo (shipped by A) to /usr/bin/foo.distrib with --rename, A's file moves away
// before B's own /usr/bin/foo is unpacked. Composing places every package's files first, so the
// preinst finds B's file there and renames that instead. After the preinsts, each diversion
// (/var/lib/dpkg/diversions: from, to, package triplets) of a path that several packages ship
// is put right: the diverting package's file at `from`, the other package's at `to`, as dpkg
// would have left them. Files are copied into the merged view (never hardlinked there).
import Foundation
import StrataCore
import StrataPackaging

enum Diversions {
    struct Diversion: Equatable {
        var from: String
        var to: String
        var package: String
    }

    /// The diversions in a tree's dpkg database (local ones, package ":", included).
    static func read(root: String) -> [Diversion] {
        let text = (try? String(contentsOfFile: "\(root)/var/lib/dpkg/diversions", encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out = [Diversion]()
        var index = 0
        while index + 2 < lines.count {
            out.append(Diversion(from: lines[index], to: lines[index + 1], package: lines[index + 2]))
            index += 3
        }
        return out
    }

    /// Re-places the files of diverted paths that more than one package ships.
    /// - Returns: the diversions repaired.
    static func repair(root: String, packages: [ImportedPackage<DebControlRecord>]) throws -> [Diversion] {
        let diversions = read(root: root).filter { $0.package != ":" }
        guard !diversions.isEmpty else { return [] }
        var composer = try Composer(root: root)
        composer.copyFiles = true
        defer { composer.close() }
        var repaired = [Diversion]()
        for diversion in diversions {
            let path = String(diversion.from.drop(while: { $0 == "/" }))
            let shippers = packages.compactMap { package -> (String, PackageEntry)? in
                guard let entry = package.entries.first(where: { $0.path == path }) else { return nil }
                if case .directory = entry.kind { return nil }
                return (package.record.name, entry)
            }
            guard let own = shippers.first(where: { $0.0 == diversion.package }),
                let other = shippers.first(where: { $0.0 != diversion.package })
            else { continue }
            try composer.place(other.1, at: String(diversion.to.drop(while: { $0 == "/" })))
            try composer.place(own.1, at: path)
            repaired.append(diversion)
        }
        return repaired
    }
}
