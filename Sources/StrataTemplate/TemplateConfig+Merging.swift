import StrataCore

/// The `template.yaml` levels of one target folded into one configuration, expanded.
///
/// Inheritance, most general level first:
/// - scalar settings: the lower level wins;
/// - `repositories` and `dummies`: merged by `name`; a lower entry with a known name replaces
///   that whole entry in place (no field-by-field merge, so `trusted: true` is always written
///   on the entry that uses it), a new name is appended, `drop: true` removes the inherited one;
/// - `excludes` and `cleanup`: merged; a lower level's globs are appended (duplicates ignored)
///   and an entry written `-/path` removes the inherited `/path`.
struct MergedConfig: Sendable {
    var settings: [String: String]
    var family: PackageFamily
    var repositories: [RepositorySpec]
    var dummies: [DummyPackage]
    var excludes: [String]
    var cleanup: [String]

    /// - Parameters:
    ///   - levels: one parsed `template.yaml` per level, most general first.
    ///   - architecture: gives the built-in variables `arch` and `basearch`.
    ///   - target: for the error when no level sets `family`.
    /// - Throws: ``StrataError`` `.invalidInput` naming the file and line at fault.
    init(levels: [TemplateConfig], architecture: Architecture, target: String) throws {
        var rawSettings: [String: Located<String>] = [:]
        for level in levels {
            for (name, value) in level.settings {
                if VariableExpander.builtinNames.contains(name) {
                    throw TemplateError.invalid(
                        at: value.location, "'\(name)' is set by strata from the target's architecture")
                }
                rawSettings[name] = value
            }
        }
        let expander = try VariableExpander(
            settings: rawSettings, builtins: ["arch": architecture.debian, "basearch": architecture.rpm])
        settings = expander.settings

        guard let familySetting = rawSettings["family"] else {
            let files = levels.map(\.file).joined(separator: ", ")
            throw StrataError(
                .invalidInput,
                "target '\(target)': no template.yaml sets 'family' (deb or rpm); read: \(files.isEmpty ? "none" : files)"
            )
        }
        guard let family = PackageFamily(rawValue: settings["family"] ?? "") else {
            throw TemplateError.invalid(
                at: familySetting.location, "family must be deb or rpm, not '\(settings["family"] ?? "")'")
        }
        self.family = family

        var repositories = NamedEntries<RepositorySpec>()
        var dummies = NamedEntries<DummyPackage>()
        var excludes = GlobList(key: "excludes")
        var cleanup = GlobList(key: "cleanup")
        for level in levels {
            try repositories.apply(level.repositories ?? [], name: \.name, drop: \.drop) { entry in
                try Self.repository(entry, expander: expander, defaultKeyring: rawSettings["keyring"])
            }
            try dummies.apply(level.dummies ?? [], name: \.name, drop: \.drop) { entry in
                try Self.dummy(entry, expander: expander)
            }
            try excludes.apply(level.excludes ?? [], expander: expander)
            try cleanup.apply(level.cleanup ?? [], expander: expander)
        }
        Self.warnUnread(rawSettings, levels: levels)
        self.repositories = repositories.values
        self.dummies = dummies.values
        self.excludes = excludes.globs
        self.cleanup = cleanup.globs
    }

    /// The settings strata itself reads; any other is there to be used as `${name}`.
    static let knownSettings = [
        "family", "distro", "version", "suite", "keyring", "rpmdb-path", "rpmdb-backend", "install-langs",
    ]

    /// Warns, at its line, about a setting that neither strata nor any `${…}` of the tree
    /// reads: most often a typo (`suit:`), which would otherwise do nothing, silently.
    private static func warnUnread(_ settings: [String: Located<String>], levels: [TemplateConfig]) {
        var referenced = Set<String>()
        for level in levels {
            guard let text = try? TemplateTree.readText(level.file) else { continue }
            var rest = Substring(text)
            while let open = rest.range(of: "${") {
                rest = rest[open.upperBound...]
                guard let close = rest.firstIndex(of: "}") else { break }
                referenced.insert(String(rest[..<close]))
                rest = rest[close...]
            }
        }
        let readable = Set(knownSettings).union(referenced)
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) where !readable.contains(name) {
            Diagnostics.warning(
                "\(value.location): setting '\(name)' is read by nothing (strata reads "
                    + knownSettings.joined(separator: ", ") + ", and no ${\(name)} uses it)"
                    + NameSuggestion.hint(for: name, in: knownSettings))
        }
    }

    private static func repository(
        _ entry: RepositoryEntry, expander: VariableExpander, defaultKeyring: Located<String>?
    ) throws -> RepositorySpec {
        func expand(_ value: Located<String>?) throws -> String? { try value.map(expander.expand) }
        let name = try expander.expand(entry.name)
        let url = try expand(entry.url)
        let mirror = try expand(entry.mirror)
        switch (url, mirror) {
        case (nil, nil):
            throw TemplateError.invalid(
                at: entry.name.location, "repository '\(name)' needs a 'url' or a 'mirror' role")
        case (.some, .some):
            throw TemplateError.invalid(
                at: entry.name.location, "repository '\(name)' has both 'url' and 'mirror'; give one")
        default: break
        }
        let keyring = try expand(entry.keyring ?? defaultKeyring)
        if let keyring, !keyring.hasPrefix("/") {
            let at = (entry.keyring ?? defaultKeyring)?.location ?? entry.name.location
            throw TemplateError.invalid(at: at, "keyring must be an absolute path, not '\(keyring)'")
        }
        let imageURL = try expand(entry.imageURL)
        if let imageURL, imageURL != RepositorySpec.notInImage, !imageURL.contains("://") {
            throw TemplateError.invalid(
                at: entry.imageURL?.location ?? entry.name.location,
                "image-url must be a URL or '\(RepositorySpec.notInImage)' (leave the repository out of the image), not '\(imageURL)'")
        }
        let path = try expand(entry.path)
        if let path, mirror == nil || path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            throw TemplateError.invalid(
                at: entry.path?.location ?? entry.name.location,
                "path is a relative path under the repository's mirror role (no leading '/', no '..'), not '\(path)'"
                    + (mirror == nil ? " on a repository with a url" : ""))
        }
        return RepositorySpec(
            name: name, url: url, mirror: mirror, suite: try expand(entry.suite),
            components: try (entry.components ?? []).map(expander.expand), keyring: keyring, trusted: entry.trusted,
            imageURL: imageURL, path: path)
    }

    private static func dummy(_ entry: DummyEntry, expander: VariableExpander) throws -> DummyPackage {
        let name = try expander.expand(entry.name)
        guard let version = entry.version else {
            throw TemplateError.invalid(at: entry.name.location, "dummy '\(name)' needs a 'version'")
        }
        return DummyPackage(
            name: name, version: try expander.expand(version), provides: try entry.provides.map(expander.expand))
    }
}

/// Entries merged by name across levels (repositories, dummies).
private struct NamedEntries<Value: Sendable>: Sendable {
    private(set) var values: [Value] = []
    private var names: [String] = []

    mutating func apply<Entry>(
        _ entries: [Entry], name: KeyPath<Entry, Located<String>>, drop: KeyPath<Entry, Bool>,
        make: (Entry) throws -> Value
    ) throws {
        var seenHere = Set<String>()
        for entry in entries {
            let entryName = entry[keyPath: name]
            guard seenHere.insert(entryName.value).inserted else {
                throw TemplateError.invalid(at: entryName.location, "'\(entryName.value)' is listed twice in this file")
            }
            let index = names.firstIndex(of: entryName.value)
            if entry[keyPath: drop] {
                guard let index else {
                    throw TemplateError.invalid(
                        at: entryName.location, "'\(entryName.value)' is dropped but no upper level defines it")
                }
                names.remove(at: index)
                values.remove(at: index)
            } else if let index {
                values[index] = try make(entry)
            } else {
                names.append(entryName.value)
                values.append(try make(entry))
            }
        }
    }
}

/// Path globs merged across levels (excludes, cleanup).
private struct GlobList: Sendable {
    let key: String
    private(set) var globs: [String] = []

    mutating func apply(_ entries: [Located<String>], expander: VariableExpander) throws {
        for entry in entries {
            let dropping = entry.value.hasPrefix("-/")
            let glob = try expander.expand(
                dropping ? Located(String(entry.value.dropFirst()), at: entry.location) : entry)
            guard glob.hasPrefix("/") else {
                throw TemplateError.invalid(
                    at: entry.location, "\(key) entries are absolute path globs ('/var/log/*'), not '\(glob)'")
            }
            if dropping {
                guard let index = globs.firstIndex(of: glob) else {
                    throw TemplateError.invalid(
                        at: entry.location, "'-\(glob)' drops a glob no upper level lists in \(key)")
                }
                globs.remove(at: index)
            } else if !globs.contains(glob) {
                globs.append(glob)
            }
        }
    }
}
