// The template tree: one directory per distro, one per version under it, optionally one per
// architecture under that, each with a `config/` directory holding `template.yaml`, package
// sets (`NAME.list`) and other files. docs/templates.md describes the format in full.
import Foundation
import StrataCore

/// A template tree on disk, and the loader that turns one target and set into a ``TemplateSpec``.
public struct TemplateTree: Sendable {
    /// The directory holding `debian/`, `fedora/`, … (and optionally a shared `config/`).
    public let root: String

    static let configDirectoryName = "config"
    static let settingsFileName = "template.yaml"
    static let listExtension = ".list"

    /// - Parameter root: the tree's directory; see ``defaultRoot(explicit:)`` to find it.
    public init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    /// Resolves a target and a package set.
    ///
    /// - Parameters:
    ///   - target: `DISTRO/VERSION` (`debian/12`) or `DISTRO/VERSION/ARCH` (`debian/12/amd64`).
    ///   - set: a package set, the name of a `NAME.list` file in one of the target's levels.
    ///   - architecture: the architecture to build for; `nil` means the one in the target, else
    ///     the host's.
    /// - Returns: the settings, repositories and package set after inheritance, list merging and
    ///   variable expansion, with its ``TemplateSpec/configDigest``.
    /// - Throws: ``StrataError``: `.notFound` for an unknown target or set (listing what exists),
    ///   `.invalidInput` for anything malformed, as `file:line: problem`; `.io` for unreadable files.
    public func load(target: String, set: String, architecture: Architecture? = nil) throws -> TemplateSpec {
        let resolved = try TemplateTarget(target, architecture: architecture, root: root)
        let levels = try resolved.configDirectories.map { directory in
            try Self.listFiles(directory)
        }
        let configs = try zip(resolved.configDirectories, levels).compactMap { directory, names in
            names.contains(Self.settingsFileName)
                ? try TemplateConfig.load(path: "\(directory)/\(Self.settingsFileName)") : nil
        }
        let merged = try MergedConfig(levels: configs, architecture: resolved.architecture, target: resolved.name)

        var lists: [String: [String]] = [:]
        var others: [String: String] = [:]
        for (directory, names) in zip(resolved.configDirectories, levels) {
            for name in names where name != Self.settingsFileName {
                if name.hasSuffix(Self.listExtension) {
                    lists[String(name.dropLast(Self.listExtension.count)), default: []].append("\(directory)/\(name)")
                } else {
                    others[name] = "\(directory)/\(name)"
                }
            }
        }
        guard PackageList.isSetName(set) else {
            throw StrataError(.invalidInput, "invalid set name '\(set)'")
        }
        var resolver = PackageListResolver(files: lists, family: merged.family)
        let list: PackageList
        do {
            list = try resolver.resolve(set)
        } catch let error as StrataError where error.code == .notFound && lists[set] == nil {
            throw StrataError(.notFound, "target '\(resolved.name)': \(error.message)")
        }
        let files = try others.keys.sorted().map { name in
            let path = others[name] ?? ""
            return TemplateFile(name: name, path: path, digest: try SHA256Digest.of(file: path))
        }

        var spec = TemplateSpec(
            target: resolved.name, set: set, family: merged.family, architecture: resolved.architecture,
            settings: merged.settings, repositories: merged.repositories, packages: list.packages,
            selectors: list.selectors, dropped: list.dropped, dummies: merged.dummies, excludes: merged.excludes,
            cleanup: merged.cleanup, configDigest: SHA256Digest.of([UInt8]()), files: files,
            origins: list.origins.mapValues(\.description))
        if let base = list.base {
            spec.base = base
            spec.origins["@base"] = list.baseLocation?.description
        }
        spec.configDigest = try spec.computeConfigDigest()
        return spec
    }

    /// Every target of the tree (`debian/11`, `debian/12`, …), sorted, versions numerically.
    /// - Throws: ``StrataError`` `.notFound` when the root is not a directory.
    public func targets() throws -> [String] {
        guard TemplateTarget.isDirectory(root) else {
            throw StrataError(.notFound, "template tree \(root) does not exist or is not a directory")
        }
        return TemplateTarget.subdirectories(of: root).flatMap { distro in
            TemplateTarget.subdirectories(of: "\(root)/\(distro)").map { "\(distro)/\($0)" }
        }
    }

    /// The package sets a target offers: every `NAME.list` in any of its levels, sorted.
    /// - Throws: ``StrataError`` as ``load(target:set:architecture:)`` does for the target.
    public func sets(target: String, architecture: Architecture? = nil) throws -> [String] {
        let resolved = try TemplateTarget(target, architecture: architecture, root: root)
        var sets = Set<String>()
        for directory in resolved.configDirectories {
            for name in try Self.listFiles(directory) where name.hasSuffix(Self.listExtension) {
                sets.insert(String(name.dropLast(Self.listExtension.count)))
            }
        }
        return sets.sorted()
    }

    /// Regular files of a `config/` directory, sorted; hidden files (`.gitkeep`, editor swap
    /// files) are ignored.
    static func listFiles(_ directory: String) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StrataError(.io, "cannot list \(directory): \(StrataError.reason(of: error))")
        }
        return names.filter { !$0.hasPrefix(".") && !TemplateTarget.isDirectory("\(directory)/\($0)") }.sorted()
    }

    /// A whole file as UTF-8 text.
    static func readText(_ path: String) throws -> String {
        let bytes = try FileReader.readAll(path)
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            throw StrataError(.invalidInput, "\(path): not UTF-8 text")
        }
        return text
    }
}
