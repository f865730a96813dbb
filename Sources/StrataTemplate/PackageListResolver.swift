import StrataCore

/// Resolves a package set of one target: merges its `NAME.list` files across levels and
/// expands `@include`, detecting cycles; `@base SET` makes the set an application template
/// (its names are a layer's requests onto SET, which must exist).
///
/// The most general level's file is processed first and each lower level's lines apply on top,
/// so a lower `foo-` drops an inherited `foo`. `@include SET` inserts SET's result merged across
/// all levels of the same target. Results are memoised for one load.
struct PackageListResolver {
    /// Set name → its list files, most general first.
    let files: [String: [String]]
    let family: PackageFamily
    private var resolved: [String: PackageList] = [:]

    init(files: [String: [String]], family: PackageFamily) {
        self.files = files
        self.family = family
    }

    /// - Throws: ``StrataError`` `.notFound` for an unknown set (listing the sets that exist),
    ///   `.invalidInput` for a malformed line or an include cycle, each as `file:line: problem`.
    mutating func resolve(_ set: String) throws -> PackageList {
        try resolve(set, stack: [], includedAt: nil)
    }

    private mutating func resolve(
        _ set: String, stack: [String], includedAt: SourceLocation?, by directive: String = "@include"
    ) throws -> PackageList {
        if let done = resolved[set] { return done }
        if stack.contains(set), let includedAt {
            let chain = (stack + [set]).joined(separator: " -> ")
            throw TemplateError.invalid(at: includedAt, "\(directive) cycle: \(chain)")
        }
        guard let paths = files[set] else {
            let known = files.keys.sorted().joined(separator: ", ")
            let message =
                "unknown set '\(set)'" + NameSuggestion.hint(for: set, in: files.keys.sorted())
                + " (sets: \(known.isEmpty ? "none" : known))"
            if let includedAt {
                throw TemplateError.notFound(at: includedAt, "\(directive) of " + message)
            }
            throw TemplateError.notFound(at: nil, message)
        }
        var list = PackageList()
        for path in paths {
            let entries = try PackageList.parse(TemplateTree.readText(path), file: path, family: family)
            for entry in entries {
                if case .include(let other) = entry.value {
                    let included = try resolve(other, stack: stack + [set], includedAt: entry.location)
                    if let base = included.base {
                        throw TemplateError.invalid(
                            at: entry.location,
                            "@include \(other): it is an application template (@base \(base)"
                                + (included.baseLocation.map { " at \($0)" } ?? "") + "); "
                                + "include base sets, or name it with @base")
                    }
                    list.include(included, at: entry.location)
                } else {
                    list.apply(entry.value, at: entry.location)
                }
            }
        }
        if let base = list.base {
            // The base set must exist (and not lead back here); an application template layers
            // package names onto it, so selectors belong to base sets.
            _ = try resolve(base, stack: stack + [set], includedAt: list.baseLocation, by: "@base")
            if let selector = list.selectors.first {
                let at = list.selectorOrigins[selector] ?? list.baseLocation ?? SourceLocation(file: paths.last ?? set)
                throw TemplateError.invalid(
                    at: at,
                    "set \(set) is an application template (@base \(base)"
                        + (list.baseLocation.map { " at \($0)" } ?? "") + "): it takes package names to add "
                        + "(and name- to remove from the base), not selectors such as \(selector) (written or @included here); "
                        + "list the packages, or make a set with the selectors its @base")
            }
        }
        resolved[set] = list
        return list
    }
}
