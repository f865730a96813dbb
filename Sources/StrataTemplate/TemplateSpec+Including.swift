// `--include PKG,PKG`: a one-off addition to a set without writing a template, as mmdebstrap's
// and debootstrap's `--include` are. The result is a set of its own, named `SET+PKG+PKG` (the
// names sorted), so its lockfile, its output and its ref never take the place of the plain set's.
import Foundation
import StrataCore

extension TemplateSpec {
    /// This spec with `names` requested too (a drop of one of them is undone).
    /// - Throws: ``StrataError`` `.invalidInput` for a name that is not a package name.
    public func including(_ names: [String]) throws -> TemplateSpec {
        let names = try Self.packageNames(names, option: "--include")
        guard !names.isEmpty else { return self }
        var spec = self
        for name in names {
            spec.dropped.removeAll { $0 == name }
            if !spec.packages.contains(name) { spec.packages.append(name) }
            spec.origins[name] = "--include"
        }
        spec.set = ([set] + Array(Set(names)).sorted()).joined(separator: "+")
        spec.configDigest = try spec.computeConfigDigest()
        return spec
    }

    /// Package names given on the command line (`a,b` or repeated), trimmed, in order, each once.
    /// - Throws: ``StrataError`` `.invalidInput` naming `option` for one that is not a package name.
    public static func packageNames(_ values: [String], option: String) throws -> [String] {
        let names = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        for name in names {
            let valid = name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+-._:~".unicodeScalars.contains($0))
            }
            guard valid, let first = name.unicodeScalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first)
            else {
                throw StrataError(.invalidInput, "\(option) \(name): not a package name")
            }
        }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
