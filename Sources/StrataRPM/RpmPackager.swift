// The RPM packager: resolution by libsolv's own policy (the one dnf uses) against verified rpm-md
// repositories. Building RPM trees (import through librpm, the rpmdb, scriptlets) is being built
// on this seam; until it is, a build of an rpm template says so.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

/// What `control/<blob>.json` keeps of an .rpm.
public struct RpmControlRecord: PackageRecord, Equatable {
    public var format: Int?
    public var name: String
    public var paths: [String]
}

public struct RpmPackager: Packager {
    public typealias Record = RpmControlRecord

    public init() {}

    public var family: PackageFamily { .rpm }
    public var layout: TreeLayout { .mergedUsr }
    public var importFormat: Int { 1 }

    public func hostMirrorRoles() -> [String: String] { [:] }

    public func resolve(_ request: ResolveRequest, fetcher: any Fetcher) async throws -> Resolution {
        let client = RpmRepositoryClient(fetcher: fetcher)
        let sources = try request.spec.repositories.map { repository in
            RpmRepositorySource(
                name: repository.name, baseURL: try request.url(of: repository), keyring: repository.keyring,
                trusted: repository.trusted)
        }
        var indexes = [RpmRepositoryIndexes]()
        for source in sources { indexes.append(try await client.fetchIndexes(source)) }
        let (spec, store, why, fetched) = (request.spec, fetcher.store, request.why, indexes)
        // Solving is synchronous: off the cooperative pool.
        return try await Offload.run { try RpmResolver(spec: spec, indexes: fetched, store: store).resolve(why: why) }
    }

    public func importPackage(_ package: Lockfile.Package, blob: SHA256Digest, importer: PackageImporter) throws
        -> (ImportedPackage<RpmControlRecord>, Bool)
    {
        throw notYet
    }

    public func register(
        _ packages: [ImportedPackage<RpmControlRecord>], lock: Lockfile, spec: TemplateSpec, in tree: ComposedTree
    ) throws { throw notYet }

    public func configure(_ packages: [ImportedPackage<RpmControlRecord>], in root: String, context: ScriptContext)
        throws
    { throw notYet }

    public func finalize(
        _ packages: [ImportedPackage<RpmControlRecord>], root: String, lock: Lockfile, spec: TemplateSpec
    ) throws -> [String] { throw notYet }

    private var notYet: StrataError {
        StrataError(.invalidInput, "building rpm templates is not supported yet (`strata lock` resolves them)")
    }
}
