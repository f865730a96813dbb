// The Debian packager: resolution with apt's choices (DebResolver), .deb import (control members
// kept for dpkg's database), the database dpkg leaves after unpacking, the maintainer scripts run
// by the tree's own dpkg (DebConfigurer, with preinst diversions repaired), and the apt sources
// and dpkg excludes a finished tree keeps. Registered by the executable; see Packager.
import Foundation
import StrataArchive
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

/// What `control/<blob>.json` keeps of a .deb: its control members and the data archive's path
/// order (dpkg's `.list` is in archive order).
public struct DebControlRecord: PackageRecord, Equatable {
    /// 2 added each path's mtime to the tree; 3 dated the file objects as the package dates them.
    public var format: Int?
    public var name: String
    public var architecture: String
    public var control: [String: Data]
    public var paths: [String]

    /// The package as dpkg's database is written from it.
    public var database: DebPackageRecord {
        DebPackageRecord(
            name: name, architecture: architecture, control: control.mapValues { [UInt8]($0) }, paths: paths)
    }
}

public struct DebPackager: Packager {
    public typealias Record = DebControlRecord

    public init() {}

    public var family: PackageFamily { .deb }
    public var layout: TreeLayout { .mergedUsr }
    public var importFormat: Int { 3 }

    public func hostMirrorRoles() -> [String: String] { HostAptSources.mirrorRoles() }

    public func resolve(_ request: ResolveRequest, fetcher: any Fetcher) async throws -> Resolution {
        let spec = request.spec
        let fetched = try await indexes(request, fetcher: fetcher)
        let (store, why) = (fetcher.store, request.why)
        let signed = Dictionary(uniqueKeysWithValues: fetched.map { ($0.source.name, $0.releaseDigest) })
        return try await request.reusingLock(signedIndexes: signed, store: store) {
            // Solving is synchronous and can take a second: off the cooperative pool.
            try await Offload.run { try DebResolver(spec: spec, indexes: fetched, store: store).resolve(why: why) }
        }
    }

    public func resolveLayer(_ request: LayerRequest, fetcher: any Fetcher) async throws -> LayerResolution {
        let status = try Self.baseStatus(request.readBase)
        let fetched = try await indexes(request.resolve, fetcher: fetcher)
        let (spec, store) = (request.resolve.spec, fetcher.store)
        return try await Offload.run {
            try DebResolver(spec: spec, indexes: fetched, store: store).resolveLayer(
                status: status, add: request.add, remove: request.remove)
        }
    }

    /// The verified indexes of the spec's repositories, as they are now.
    private func indexes(_ request: ResolveRequest, fetcher: any Fetcher) async throws -> [DebRepositoryIndexes] {
        let spec = request.spec
        let client = DebRepositoryClient(fetcher: fetcher, architecture: spec.architecture)
        let sources = try spec.repositories.map { repository in
            guard let suite = repository.suite else {
                throw StrataError(.invalidInput, "repository '\(repository.name)' of \(spec.target) names no suite")
            }
            return DebRepositorySource(
                name: repository.name, url: try request.url(of: repository), suite: suite,
                components: repository.components, keyring: repository.keyring, trusted: repository.trusted)
        }
        var indexes = [DebRepositoryIndexes]()
        for source in sources { indexes.append(try await client.fetchIndexes(source)) }
        return indexes
    }

    public func importPackage(_ package: Lockfile.Package, blob: SHA256Digest, importer: PackageImporter) throws
        -> (ImportedPackage<DebControlRecord>, Bool)
    {
        let what = "\(package.name) \(package.version)"
        var control = [String: [UInt8]]()
        return try importer.importPackage(
            blob: blob, what: what, format: importFormat,
            read: { path, entry in try DebArchive.read(path, control: { control = $0 }, data: entry) },
            makeRecord: { paths in
                guard
                    let stanza = try Deb822.parse(String(decoding: control["control"] ?? [], as: UTF8.self), what: what)
                        .first,
                    let name = stanza["Package"], let architecture = stanza["Architecture"]
                else { throw StrataError(.invalidInput, "\(what): the .deb has no usable control file") }
                // The name becomes a file name in the dpkg database: Debian policy's syntax only.
                guard name.range(of: "^[a-z0-9][a-z0-9+.-]+$", options: .regularExpression) != nil,
                    architecture.range(of: "^[a-z0-9-]+$", options: .regularExpression) != nil
                else {
                    throw StrataError(
                        .invalidInput, "\(what): invalid package name or architecture '\(name)' / '\(architecture)'")
                }
                return DebControlRecord(
                    format: importFormat, name: name, architecture: architecture,
                    control: control.mapValues { Data($0) }, paths: paths)
            })
    }

    public func register(
        _ packages: [ImportedPackage<DebControlRecord>], lock: Lockfile, spec: TemplateSpec, in tree: ComposedTree
    ) throws {
        try DpkgExcludes.record(spec.excludes, in: tree.root)
        try DpkgDatabase.write(
            packages.map(\.record.database), dummies: lock.dummies ?? [], root: tree.root, md5: Self.md5(in: tree))
    }

    public func installedPackages(readBase: @Sendable (String) throws -> [UInt8]?) throws -> [String: String] {
        return Dictionary(
            try DebResolver.installed(status: try Self.baseStatus(readBase)).map { ($0.name, $0.stanza["Version"] ?? "") },
            uniquingKeysWith: { a, _ in a })
    }

    private static func baseStatus(_ readBase: @Sendable (String) throws -> [UInt8]?) throws -> [UInt8] {
        guard let status = try readBase("var/lib/dpkg/status") else {
            throw StrataError(.invalidInput, "the base tree has no var/lib/dpkg/status: not a Debian tree")
        }
        return status
    }

    public func registerLayer(
        _ packages: [ImportedPackage<DebControlRecord>], lock: Lockfile, spec: TemplateSpec, in tree: ComposedTree
    ) throws {
        try DpkgDatabase.add(
            packages.map(\.record.database), dummies: lock.dummies ?? [], root: tree.root, md5: Self.md5(in: tree))
    }

    /// A conffile's md5 from the composed file, or from its store object when excludes kept it out.
    static func md5(in tree: ComposedTree) -> (String) throws -> String {
        let prefix = tree.root + "/"
        return { path in
            if !FileManager.default.fileExists(atPath: path), path.hasPrefix(prefix),
                let object = tree.objects[String(path.dropFirst(prefix.count))]
            {
                return try Digests.md5(file: object)
            }
            return try Digests.md5(file: path)
        }
    }

    public func configureLayer(
        _ packages: [ImportedPackage<DebControlRecord>], removing: [String], in root: String, context: ScriptContext
    ) throws {
        try DebConfigurer.configure(
            root: root, packages: packages.map(\.record.database), removing: removing, onBase: true,
            sourceDateEpoch: context.sourceDateEpoch, report: context.report,
            afterPreinsts: Self.repairingDiversions(packages, root: root, context: context))
    }

    public func configure(_ packages: [ImportedPackage<DebControlRecord>], in root: String, context: ScriptContext)
        throws
    {
        try DebConfigurer.configure(
            root: root, packages: packages.map(\.record.database), sourceDateEpoch: context.sourceDateEpoch,
            report: context.report, afterPreinsts: Self.repairingDiversions(packages, root: root, context: context))
    }

    /// What runs after the preinsts: the files preinst diversions moved put back as dpkg leaves them.
    static func repairingDiversions(
        _ packages: [ImportedPackage<DebControlRecord>], root: String, context: ScriptContext
    ) -> () throws -> Void {
        {
            let repaired = try Diversions.repair(root: root, packages: packages)
            if !repaired.isEmpty {
                context.report("configure: \(repaired.count) diversions of shipped files put in place")
            }
        }
    }

    public func finalize(
        _ packages: [ImportedPackage<DebControlRecord>], root: String, lock: Lockfile, spec: TemplateSpec
    ) throws -> [String] {
        try AptSources.write(root: root, repositories: lock.repositories, specs: spec.repositories)
    }
}
