// Customisation hooks, as mmdebstrap's --customize-hook and --hook-dir: scripts that run after the
// maintainer scripts and before finalize, either on the host (`sh -ec SCRIPT hook ROOT`: `$1` is
// the tree, as mmdebstrap passes it) or inside the tree, confined as maintainer scripts are.
//
// A template ships them as files of its `config/` directories named `customize-host*` and
// `customize-chroot*` (a lower level's file of the same name replaces the upper one, like every
// other file); the command line adds more (`--customize-hook`, `--chroot-hook`, `--hook-dir`).
// They run in that order, the template's by what follows the prefix (`customize-host-10-…`
// before `customize-chroot-20-…`), as run-parts orders numbered scripts. A template's hooks are
// files of the tree and so part of the configuration digest; the command line's are not (they
// do not change what is resolved, and a changed digest would re-resolve and rewrite the
// lockfile): the commit records their digest instead, so `strata show` tells two builds apart.
import Foundation
import StrataCore

public struct CustomizeHook: Sendable, Hashable, Codable {
    public enum Place: String, Sendable, Hashable, Codable {
        /// On the host, as root, with the tree's path as `$1`.
        case host
        /// Inside the tree, as its maintainer scripts run.
        case chroot
    }

    public var place: Place
    /// Where it came from, for messages: a file path or `--customize-hook #2`.
    public var name: String
    public var script: String

    public init(place: Place, name: String, script: String) {
        self.place = place
        self.name = name
        self.script = script
    }

    /// The place a template file's name gives it, or `nil` for a file that is not a hook.
    public static func place(ofFileNamed name: String) -> Place? {
        if name.hasPrefix("customize-host") { return .host }
        if name.hasPrefix("customize-chroot") { return .chroot }
        return nil
    }

    /// The order hook files run in: by what follows `customize-host` / `customize-chroot`
    /// (`-10-motd` before `-20-users`, as run-parts orders), the host's first on a tie.
    static func orderKey(_ name: String) -> (String, Int) {
        if name.hasPrefix("customize-host") { return (String(name.dropFirst("customize-host".count)), 0) }
        return (String(name.dropFirst("customize-chroot".count)), 1)
    }

    static func ordered(_ names: [String]) -> [String] {
        names.filter { place(ofFileNamed: $0) != nil }.sorted { orderKey($0) < orderKey($1) }
    }

    /// The hooks in a directory (`--hook-dir`), by the same names as a template's, in name order.
    /// - Throws: ``StrataError`` `.notFound` for a directory that does not exist.
    public static func load(directory: String) throws -> [CustomizeHook] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw StrataError(.notFound, "--hook-dir \(directory): no such directory")
        }
        return try ordered(names).compactMap { name in
            guard let place = place(ofFileNamed: name) else { return nil }
            let path = "\(directory)/\(name)"
            return CustomizeHook(place: place, name: path, script: try TemplateTree.readText(path))
        }
    }
}

extension TemplateSpec {
    /// Every hook to run, in order: the template's files, then the command line's.
    /// - Throws: ``StrataError`` `.io` for a hook file that cannot be read.
    public func customizeHooks() throws -> [CustomizeHook] {
        let byName = Dictionary(files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let shipped = try CustomizeHook.ordered(files.map(\.name)).compactMap { name -> CustomizeHook? in
            guard let file = byName[name], let place = CustomizeHook.place(ofFileNamed: name) else { return nil }
            return CustomizeHook(place: place, name: file.path, script: try TemplateTree.readText(file.path))
        }
        return shipped + hooks
    }

    /// This spec with `extra` hooks after its own (the configuration digest stays as it is).
    public func addingHooks(_ extra: [CustomizeHook]) -> TemplateSpec {
        var spec = self
        spec.hooks += extra
        return spec
    }

    /// SHA-256 of the command line's hooks (place and text, in order), or `nil` when there are none.
    public var hooksDigest: SHA256Digest? {
        guard !hooks.isEmpty else { return nil }
        return SHA256Digest.of(Array(hooks.map { "\($0.place.rawValue)\n\($0.script)" }.joined(separator: "\n\0").utf8))
    }
}
