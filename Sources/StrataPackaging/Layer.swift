// Layering, the packager's side: resolving additions (and removals) onto a base tree whose
// packages stay as they are, registering the added packages beside the base's in the tree's
// database, and running only their scripts and the triggers they set off. The pipeline
// (StrataBuild's Layerer) checks the base out, composes the additions over it and commits the
// result with an origin record; docs/layering.md.
import StrataCore
import StrataStore
import StrataTemplate

/// What a layer asks for, onto a base tree.
public struct LayerRequest: Sendable {
    /// The base template's spec, with the URL each repository is fetched from now.
    public var resolve: ResolveRequest
    /// Package names as the user typed them (`--add`), in order.
    public var add: [String]
    /// Base packages to remove (`--remove`).
    public var remove: [String]
    /// A file of the base tree by its path (`var/lib/dpkg/status`); nil when the tree has none.
    /// The base is a committed tree of this store, read from its objects.
    public var readBase: @Sendable (String) throws -> [UInt8]?

    public init(
        resolve: ResolveRequest, add: [String], remove: [String] = [],
        readBase: @escaping @Sendable (String) throws -> [UInt8]?
    ) {
        self.resolve = resolve
        self.add = add
        self.remove = remove
        self.readBase = readBase
    }
}

/// What a layer adds and removes.
public struct LayerResolution: Sendable {
    /// The packages to add (the layered set), with the repositories' indexes as resolved now.
    public var lockfile: Lockfile
    /// Requests the base already satisfies (inactive: kept in the origin, not layered), each with
    /// the base package that satisfies it (`apt 2.6.1`).
    public var inactive: [String: String]
    /// Base packages to remove, by name, in the order they are removed.
    public var removed: [String]

    public init(lockfile: Lockfile, inactive: [String: String], removed: [String]) {
        self.lockfile = lockfile
        self.inactive = inactive
        self.removed = removed
    }
}

extension Packager {
    public func resolveLayer(_ request: LayerRequest, fetcher: any Fetcher) async throws -> LayerResolution {
        throw StrataError(.invalidInput, "layering \(family) templates is not implemented yet (Debian templates layer)")
    }

    public func registerLayer(
        _ packages: [ImportedPackage<Record>], lock: Lockfile, spec: TemplateSpec, in tree: ComposedTree
    ) throws {
        throw StrataError(.invalidInput, "layering \(family) templates is not implemented yet (Debian templates layer)")
    }

    public func configureLayer(
        _ packages: [ImportedPackage<Record>], removing: [String], in root: String, context: ScriptContext
    ) throws {
        throw StrataError(.invalidInput, "layering \(family) templates is not implemented yet (Debian templates layer)")
    }

    public func installedPackages(readBase: @Sendable (String) throws -> [UInt8]?) throws -> [String: String] {
        throw StrataError(.invalidInput, "layering \(family) templates is not implemented yet (Debian templates layer)")
    }
}
