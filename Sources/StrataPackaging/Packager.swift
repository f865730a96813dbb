// The packager seam (DESIGN.md): everything a package format knows, behind one protocol, so the
// pipeline in StrataBuild is the same stages for every format. A packager resolves a template's
// request against its repositories, reads its package files into the store, registers composed
// packages in the tree's database as its tool leaves them after unpacking, runs their scripts in
// the sandbox, and finalizes what its tools keep in a tree. The executable registers the
// packagers it ships (`Packagers`); nothing else names one.
//
// Layering (Layer.swift): `resolveLayer`, `registerLayer` and `configureLayer` resolve additions
// onto a base tree's installed packages, add them to its database and run only their scripts
// (and the removals' prerm/postrm). The Debian packager implements them; the others say they
// do not yet. Still to come, for living containers: reading the packages of a tree strata did
// not build, as hostile input.
import Foundation
import StrataCore
import StrataStore
import StrataTemplate

/// One package format: Debian's dpkg/apt, or rpm.
public protocol Packager: Sendable {
    /// What the packager keeps of each package beside its tree in the store.
    associatedtype Record: PackageRecord

    /// The family this packager builds (a template's `family:`).
    var family: PackageFamily { get }

    /// How composed trees are laid out (merged /usr).
    var layout: TreeLayout { get }

    /// The import format; a package imported by another format is read again.
    var importFormat: Int { get }

    /// The mirror roles the host's own configuration names (apt sources, yum.repos.d): role → URL.
    func hostMirrorRoles() -> [String: String]

    /// Resolves `request` against the repositories as they are now (verified indexes, libsolv
    /// with the packager's policy) into a lockfile.
    func resolve(_ request: ResolveRequest, fetcher: any Fetcher) async throws -> Resolution

    /// Reads the package file `blob` (the lockfile's `package`) into the store, once.
    /// Called under the store's writer lock, on several threads at once.
    /// - Returns: the package, and whether it was read now (false: it was in the store).
    func importPackage(_ package: Lockfile.Package, blob: SHA256Digest, importer: PackageImporter) throws
        -> (ImportedPackage<Record>, Bool)

    /// Writes the package database for `packages`, whose files are composed in `tree.root`, as
    /// the package tool leaves it after unpacking them (before their scripts run).
    func register(_ packages: [ImportedPackage<Record>], lock: Lockfile, spec: TemplateSpec, in tree: ComposedTree)
        throws

    /// Runs the packages' scripts and triggers once, inside `root` (the tree scripts may write:
    /// the overlay's merged view), each in the script sandbox.
    func configure(_ packages: [ImportedPackage<Record>], in root: String, context: ScriptContext) throws

    /// What the packager leaves in a finished tree: its sources or repository files for the
    /// repositories used, its tools' caches removed.
    /// - Returns: warnings for the user (a repository left out, and why).
    func finalize(_ packages: [ImportedPackage<Record>], root: String, lock: Lockfile, spec: TemplateSpec) throws
        -> [String]

    /// Resolves `request`'s additions and removals onto the base's installed packages, which
    /// stay as they are. A request the base already satisfies is inactive.
    /// - Throws: ``StrataError`` `.unsatisfiable` naming each base package an addition needs in
    ///   another version (and the version the base has), or what still needs a removal.
    func resolveLayer(_ request: LayerRequest, fetcher: any Fetcher) async throws -> LayerResolution

    /// Adds `packages`, composed over a base tree in `tree.root`, to the tree's package database
    /// as unpacked, beside the base's installed packages.
    func registerLayer(_ packages: [ImportedPackage<Record>], lock: Lockfile, spec: TemplateSpec, in tree: ComposedTree)
        throws

    /// Removes `removing` as the package tool does (its scripts run), then runs the scripts of
    /// `packages` and the triggers they set off, inside `root`.
    func configureLayer(_ packages: [ImportedPackage<Record>], removing: [String], in root: String, context: ScriptContext)
        throws

    /// The packages installed in a committed tree (name to version), read from its package
    /// database through `readBase` (see ``LayerRequest``): what `strata status` compares when a
    /// layer's base moved on.
    func installedPackages(readBase: @Sendable (String) throws -> [UInt8]?) throws -> [String: String]

    /// What a template's SBOM says of one of its packages beyond the lock (SBOM.swift): its purl,
    /// its declared license as an SPDX expression, its supplier and homepage, read from the
    /// package's record and files in the store (nothing but the purl when it was not imported).
    /// `lock` names the distribution (its `target`).
    func sbomFacts(of package: Lockfile.Package, lock: Lockfile, store: Store) throws -> SBOMFacts
}

extension Packager {
    /// The packager's record of an imported package, nil when there is none of this format.
    public func storedRecord(of blob: SHA256Digest, in store: Store) -> Record? {
        guard let data = FileManager.default.contents(atPath: store.packageRecordPath(blob)),
            let record = try? JSONDecoder().decode(Record.self, from: data), record.format == importFormat
        else { return nil }
        return record
    }

    /// The bytes of `path` (relative, as the package names it) in an imported package's tree,
    /// following symlinks within the package; nil when it has no such file or it exceeds `limit`.
    public func storedFile(_ path: String, of blob: SHA256Digest, in store: Store, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard let tree = try store.packageTree(blob: blob) else { return nil }
        let entries = Dictionary(try store.readTree(tree).entries.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var current = path
        for _ in 0..<8 {
            guard let entry = entries[current] else { return nil }
            switch entry.kind {
            case .file:
                guard let object = entry.object, (entry.size ?? 0) <= UInt64(limit) else { return nil }
                return try FileReader.readAll(store.objectPath(object))
            case .symlink:
                guard let target = entry.target else { return nil }
                let base = target.hasPrefix("/") ? [] : current.split(separator: "/").dropLast().map(String.init)
                var parts = base
                for part in target.split(separator: "/") {
                    if part == ".." { _ = parts.popLast() } else if part != "." { parts.append(String(part)) }
                }
                current = parts.joined(separator: "/")
            default: return nil
            }
        }
        return nil
    }
}

/// A tree whose packages were just composed: its root, and the store object behind a composed
/// path for files the template's excludes kept out of the tree (a database may want their digest).
public struct ComposedTree {
    public let root: String
    public let layout: TreeLayout
    /// Tree path (relative, merged /usr) → the store object the package's file is.
    public let objects: [String: String]
    /// The date a database records as install time (`SOURCE_DATE_EPOCH`).
    public var sourceDateEpoch: Int64 = 0

    public init(root: String, layout: TreeLayout, objects: [String: String]) {
        self.root = root
        self.layout = layout
        self.objects = objects
    }
}

/// What scripts run with.
public struct ScriptContext: Sendable {
    /// Every date the scripts see is clamped to this (`SOURCE_DATE_EPOCH`).
    public var sourceDateEpoch: Int64
    /// Progress lines (`configure: …`).
    public var report: @Sendable (String) -> Void
    /// The lockfile's install order (package names, dependencies first), when it has one.
    public var installOrder: [String]?
    /// The template's settings (a packager's own: `rpmdb-path`, `install-langs`, …).
    public var settings: [String: String]

    public init(
        sourceDateEpoch: Int64, installOrder: [String]? = nil, settings: [String: String] = [:],
        report: @escaping @Sendable (String) -> Void
    ) {
        self.sourceDateEpoch = sourceDateEpoch
        self.installOrder = installOrder
        self.settings = settings
        self.report = report
    }
}

/// The packagers an executable ships, by family.
public struct Packagers: Sendable {
    public let all: [any Packager]

    public init(_ all: [any Packager]) { self.all = all }

    /// - Throws: ``StrataError`` `.invalidInput` when no registered packager builds `family`.
    public func packager(for family: PackageFamily) throws -> any Packager {
        guard let packager = all.first(where: { $0.family == family }) else {
            throw StrataError(.invalidInput, "this strata has no packager for \(family) templates")
        }
        return packager
    }

    /// The mirror roles the host names, merged over every packager (the first to name a role wins).
    public func hostMirrorRoles() -> [String: String] {
        var roles = [String: String]()
        for packager in all { roles.merge(packager.hostMirrorRoles()) { first, _ in first } }
        return roles
    }
}
