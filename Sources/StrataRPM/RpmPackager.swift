// The RPM packager: resolution by libsolv's own policy (the one dnf uses, weak dependencies
// included) against verified rpm-md repositories; each .rpm read once (header through librpm,
// payload through libarchive, RpmArchive); the rpmdb written by the host's rpm as it leaves it
// after unpacking (RpmDatabase), converted by the tree's own rpm when it has one; scriptlets and
// file triggers run once, in libsolv's install order, in the script sandbox (RpmScriptlets), with
// owners named in the header resolved against the tree's own passwd and group after the %pre
// scripts made them (RpmOwners); and the repository file and rpm macros a finished tree keeps.
import Foundation
import StrataArchive
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

/// What `control/<blob>.json` keeps of an .rpm: the header's facts (files with their owners and
/// flags, scriptlets, triggers) and the payload's path order.
public struct RpmControlRecord: PackageRecord, Equatable {
    public var format: Int?
    public var name: String
    public var paths: [String]
    public var header: RpmHeader
}

public struct RpmPackager: Packager {
    public typealias Record = RpmControlRecord

    public init() {}

    public var family: PackageFamily { .rpm }
    public var layout: TreeLayout { .mergedUsr }
    /// 2 added the header's license, vendor, URL and source rpm (for SBOMs).
    public var importFormat: Int { 2 }

    public func hostMirrorRoles() -> [String: String] { HostYumRepos.mirrorRoles() }

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
        let signed = Dictionary(uniqueKeysWithValues: indexes.map { ($0.source.name, $0.repomdDigest) })
        return try await request.reusingLock(signedIndexes: signed, store: store) {
            // Solving is synchronous: off the cooperative pool.
            try await Offload.run { try RpmResolver(spec: spec, indexes: fetched, store: store).resolve(why: why) }
        }
    }

    public func importPackage(_ package: Lockfile.Package, blob: SHA256Digest, importer: PackageImporter) throws
        -> (ImportedPackage<RpmControlRecord>, Bool)
    {
        let what = "\(package.name) \(package.version)"
        var header: RpmHeader?
        let (read, fresh) = try importer.importPackage(
            blob: blob, what: what, format: importFormat,
            read: { path, entry in
                try RpmArchive.read(path, what: what, header: { header = $0 }, entry: entry)
            },
            makeRecord: { paths in
                guard let header else { throw StrataError(.invalidInput, "\(what): the rpm has no header") }
                return RpmControlRecord(format: importFormat, name: header.name, paths: paths, header: header)
            })
        var imported = read
        // Owners are names in the header; the objects are root's until the tree's own passwd says.
        let owners = Dictionary(
            imported.record.header.files.map { (String($0.path.drop { $0 == "/" }), ($0.user, $0.group)) },
            uniquingKeysWith: { a, _ in a })
        for index in imported.entries.indices {
            if let (user, group) = owners[imported.entries[index].path], user != "root" || group != "root" {
                imported.entries[index].owner = (user, group)
            }
        }
        return (imported, fresh)
    }

    public func register(
        _ packages: [ImportedPackage<RpmControlRecord>], lock: Lockfile, spec: TemplateSpec, in tree: ComposedTree
    ) throws {
        try RpmDatabase(settings: spec.settings).register(
            ordered(packages, lock.installOrder), excludes: spec.excludes, root: tree.root,
            sourceDateEpoch: tree.sourceDateEpoch)
    }

    public func configure(_ packages: [ImportedPackage<RpmControlRecord>], in root: String, context: ScriptContext)
        throws
    {
        let inOrder = ordered(packages, context.installOrder)
        let database = RpmDatabase(settings: context.settings)
        try database.convertWithOwnRpm(root: root, sourceDateEpoch: context.sourceDateEpoch, report: context.report)
        var scripts = RpmScriptlets(
            packages: inOrder, root: root, sourceDateEpoch: context.sourceDateEpoch,
            hasOwnRpm: RpmDatabase.own("rpm", in: root) != nil, report: context.report)
        try scripts.runAll {
            try RpmOwners.apply(inOrder, root: root, layout: layout)
        }
        try database.tidy(root: root)
        for line in scripts.slowest(3) { Diagnostics.note(line) }
    }

    public func finalize(
        _ packages: [ImportedPackage<RpmControlRecord>], root: String, lock: Lockfile, spec: TemplateSpec
    ) throws -> [String] {
        try RpmMacros.write(root: root, settings: spec.settings, excludes: spec.excludes)
        return try YumRepoFile.write(root: root, repositories: lock.repositories, specs: spec.repositories)
    }

    /// `packages` in the lockfile's install order (dependencies first); by name where it has none.
    func ordered(_ packages: [ImportedPackage<RpmControlRecord>], _ order: [String]?) -> [ImportedPackage<RpmControlRecord>] {
        guard let order else { return packages }
        let rank = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        return packages.enumerated().sorted {
            (rank[$0.element.name] ?? Int.max, $0.offset) < (rank[$1.element.name] ?? Int.max, $1.offset)
        }.map(\.element)
    }
}
