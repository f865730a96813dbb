// What `strata status` and `strata upgrade --dry-run` say of a layer (docs/layering.md): the
// origin its commit records, whether the base ref moved on, what moved in the base (read offline
// from the two base trees' package databases), and, resolved, what an upgrade would layer.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

/// A commit as `strata status` shows it.
public struct LayerStatus: Sendable {
    /// A layer's origin.
    public struct Layer: Sendable {
        public var baseName: String
        public var baseCommit: SHA256Digest
        /// The commit the base ref names now (nil when the ref is gone; the recorded commit
        /// when the base was named by its id).
        public var currentBase: SHA256Digest?
        public var add: [String]
        public var remove: [String]
        public var inactive: [String]
        public var moved: Bool { currentBase != baseCommit }
    }

    /// What moved in the base since the layer was made, from the two base trees' databases.
    public struct BaseChange: Sendable {
        /// `+ name version`, `- name`, `~ name old -> new`, sorted by name.
        public var packages: [String]
        /// Inactive requests the new base no longer has by name: an upgrade layers them.
        public var activeAgain: [String]
        /// Requests layered now that the new base has: an upgrade leaves them inactive.
        public var nowInactive: [String: String]
        /// Removals the new base has no package for: an upgrade has nothing to remove.
        public var alreadyGone: [String]
    }

    public let id: SHA256Digest
    public let commit: Commit
    public let ref: String?
    public let layer: Layer?
    /// The commit's lockfile (a layer's: the layered packages), when the store kept it.
    public let lock: Lockfile?
    /// When the base moved on: what moved (nil otherwise, or when a base is gone).
    public let baseChange: BaseChange?

    /// Reads `name` (a ref, a prefix naming one, or a commit id) from `store`; the base trees'
    /// databases are read with the packager of the commit's family.
    public init(store: Store, name: String, packagers: Packagers) throws {
        let id = try store.resolveCommit(name)
        self.id = id
        commit = try store.readCommit(id)
        let refs = try store.refs()
        ref = refs[name] == id ? name : refs.filter { $0.value == id }.keys.sorted().first
        lock = try Self.lockfile(of: commit, id: id, in: store)
        let origin = commit.origin
        guard let baseName = origin[Builder.LayerOrigin.base], let hex = origin[Builder.LayerOrigin.baseCommit],
            let baseCommit = try? SHA256Digest(hex: hex)
        else {
            layer = nil
            baseChange = nil
            return
        }
        // A base named by its commit id never moves on; a ref may.
        let current = (try? SHA256Digest(hex: baseName)) != nil ? baseCommit : try store.ref(baseName)
        func words(_ key: String) -> [String] { (origin[key] ?? "").split(separator: " ").map(String.init) }
        let layer = Layer(
            baseName: baseName, baseCommit: baseCommit, currentBase: current, add: words(Builder.LayerOrigin.add),
            remove: words(Builder.LayerOrigin.remove), inactive: words(Builder.LayerOrigin.inactive))
        self.layer = layer
        if let current, current != baseCommit, store.containsCommit(baseCommit) {
            let old = try Builder.readBase(try store.readCommit(baseCommit), in: store)
            let new = try Builder.readBase(try store.readCommit(current), in: store)
            let packager = try Self.packager(of: commit, readBase: old, packagers)
            baseChange = Self.change(
                from: try packager.installedPackages(readBase: old), to: try packager.installedPackages(readBase: new), layer: layer)
        } else {
            baseChange = nil
        }
    }

    static func lockfile(of commit: Commit, id: SHA256Digest, in store: Store) throws -> Lockfile? {
        guard let digest = commit.lockDigest, store.blobs.contains(digest) else { return nil }
        return try Lockfile.decode(try FileReader.readAll(store.blobs.path(of: digest)), what: "the lockfile of \(id.hex.prefix(12))")
    }

    /// The packager of the commit's family (the origin names it; a commit made before it did is
    /// read by the first packager that can).
    static func packager(
        of commit: Commit, readBase: @Sendable (String) throws -> [UInt8]?, _ packagers: Packagers
    ) throws -> any Packager {
        if let family = commit.origin["family"].flatMap(PackageFamily.init(rawValue:)) { return try packagers.packager(for: family) }
        guard let packager = packagers.all.first(where: { (try? $0.installedPackages(readBase: readBase)) != nil }) else {
            throw StrataError(.invalidInput, "the commit records no package family and no packager reads its base")
        }
        return packager
    }

    static func change(from old: [String: String], to new: [String: String], layer: Layer) -> BaseChange {
        var packages = [String]()
        for name in Set(old.keys).union(new.keys).sorted() {
            switch (old[name], new[name]) {
            case (nil, let version?): packages.append("+ \(name) \(version)")
            case (_?, nil): packages.append("- \(name)")
            case (let a?, let b?) where a != b: packages.append("~ \(name) \(a) -> \(b)")
            default: break
            }
        }
        let inactive = Set(layer.inactive)
        // By name only: a request a base package satisfied by Provides is resolved by --dry-run.
        let activeAgain = layer.inactive.filter { old[$0] != nil && new[$0] == nil }
        var nowInactive = [String: String]()
        for name in layer.add where !inactive.contains(name) {
            if let version = new[name] { nowInactive[name] = "\(name) \(version)" }
        }
        let alreadyGone = layer.remove.filter { new[$0] == nil }
        return BaseChange(packages: packages, activeAgain: activeAgain, nowInactive: nowInactive, alreadyGone: alreadyGone)
    }

    public var text: String {
        var lines = ["\(ref ?? id.hex)  commit \(id.hex.prefix(12))"]
        guard let layer else {
            lines.append(
                "  built from the template \(commit.origin["target"] ?? "?") --set \(commit.origin["set"] ?? "?") "
                    + "(\(commit.origin["architecture"] ?? "?")); not a layer")
            if let lock { lines.append("  \(lock.packages.count) packages") }
            return lines.joined(separator: "\n")
        }
        lines.append("  base:      \(layer.baseName) \(layer.baseCommit.hex.prefix(12))")
        switch layer.currentBase {
        case nil: lines.append("             the base ref is gone from the store")
        case let current? where current != layer.baseCommit:
            lines.append("             has moved on to \(current.hex.prefix(12))")
        default: lines.append("             up to date")
        }
        if let application = commit.origin[Builder.LayerOrigin.application] {
            lines.append("  from:      the application template \(application) (`strata build \(commit.origin["target"] ?? "") --set \(application)`)")
        }
        lines.append("  requested: " + (layer.add.isEmpty ? "-" : layer.add.joined(separator: " ")))
        if !layer.remove.isEmpty { lines.append("  removed:   " + layer.remove.joined(separator: " ")) }
        if !layer.inactive.isEmpty { lines.append("  inactive:  \(layer.inactive.joined(separator: " ")) (the base satisfies them)") }
        if let lock {
            lines.append("  layered:   " + (lock.packages.isEmpty ? "-" : "\(lock.packages.count) packages"))
            for package in lock.packages {
                lines.append("    \(package.name) \(package.version) \(package.architecture) sha256 \(package.sha256.hex.prefix(16))…")
            }
        }
        if let change = baseChange {
            lines.append("  the base since:" + (change.packages.isEmpty ? " no package changed" : ""))
            lines += change.packages.map { "    \($0)" }
            for name in change.activeAgain { lines.append("  upgrade layers \(name) again (the new base dropped it)") }
            for (name, has) in change.nowInactive.sorted(by: { $0.key < $1.key }) {
                lines.append("  upgrade leaves \(name) inactive (the new base has \(has))")
            }
            for name in change.alreadyGone { lines.append("  upgrade has no \(name) to remove (the new base does not have it)") }
            lines.append("  `strata upgrade \(ref ?? id.hex) --dry-run` resolves what the layer would change")
        }
        return lines.joined(separator: "\n")
    }

    public func json() throws -> [UInt8] {
        struct Package: Encodable {
            var name, version, architecture, sha256: String
        }
        struct Base: Encodable {
            var ref: String
            var commit: String
            var current: String?
            var moved: Bool
            var packages: [String]?
            var activeAgain: [String]?
            var nowInactive: [String: String]?
            var alreadyGone: [String]?
        }
        struct Output: Encodable {
            var ref: String?
            var commit: String
            var target, set, architecture: String?
            var layer: Bool
            var base: Base?
            var requested: [String]?
            var removed: [String]?
            var inactive: [String]?
            var layered: [Package]?
            var application: String?
        }
        let packages = lock?.packages.map {
            Package(name: $0.name, version: $0.version, architecture: $0.architecture, sha256: $0.sha256.hex)
        }
        let output = Output(
            ref: ref, commit: id.hex, target: commit.origin["target"], set: commit.origin["set"],
            architecture: commit.origin["architecture"], layer: layer != nil,
            base: layer.map {
                Base(
                    ref: $0.baseName, commit: $0.baseCommit.hex, current: $0.currentBase?.hex, moved: $0.moved,
                    packages: baseChange?.packages, activeAgain: baseChange?.activeAgain, nowInactive: baseChange?.nowInactive,
                    alreadyGone: baseChange?.alreadyGone)
            },
            requested: layer?.add, removed: layer?.remove, inactive: layer?.inactive, layered: layer == nil ? nil : packages,
            application: commit.origin[Builder.LayerOrigin.application])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(output)) + [0x0a]
    }
}

/// What `strata upgrade` would change, resolved onto the base ref's newest commit.
public struct UpgradeChange: Sendable {
    public var from: SHA256Digest
    public var to: SHA256Digest
    /// The layered set's changes (`+ name version`, `- name`, `~ name old -> new`).
    public var layered: [String]
    /// Requests the new base satisfies, with what satisfies each.
    public var nowInactive: [String: String]
    /// Inactive requests the new base no longer satisfies.
    public var activeAgain: [String]

    public init(status: LayerStatus, layer: LayerStatus.Layer, plan: Builder.LayerPlan, onto current: SHA256Digest) {
        from = layer.baseCommit
        to = current
        var changes = status.lock.map { plan.resolution.lockfile.changes(since: $0) } ?? []
        changes.removeAll { $0.hasPrefix("!") }
        layered = changes
        let wasInactive = Set(layer.inactive)
        let isInactive = Set(plan.resolution.inactive.keys)
        nowInactive = plan.resolution.inactive.filter { !wasInactive.contains($0.key) }
        activeAgain = wasInactive.subtracting(isInactive).sorted()
    }

    public func lines(baseName: String) -> [String] {
        var lines = [
            from == to
                ? "base: \(baseName) is still \(to.hex.prefix(12))" : "base: \(baseName) \(from.hex.prefix(12)) -> \(to.hex.prefix(12))"
        ]
        lines += layered.isEmpty ? ["layered: no change"] : layered.map { "layered: \($0)" }
        for (name, has) in nowInactive.sorted(by: { $0.key < $1.key }) { lines.append("inactive now: \(name) (the new base has \(has))") }
        for name in activeAgain { lines.append("active again: \(name) (the new base dropped it)") }
        return lines
    }
}
