// The SBOM stage (docs/sbom.md): a template's bill of materials, made from its finished tree's
// package database and the lockfiles that pinned what it holds (its own, then its base's for a
// layer), with each package's license and supplier from its record in the store. The build
// makes it from the tree it just finished, `strata export` and `strata show --sbom` from the
// commit: both read the same database and the same locks, so they give the same bytes. The
// documents are written beside the output (`NAME.spdx.json`, `NAME.cdx.json`), and an OCI
// output carries the SPDX one as an artifact that refers to the image (OCIExport.swift).
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

extension Builder {
    /// The SBOM of a committed template.
    /// - Throws: ``StrataError`` `.notFound` for a commit without a lockfile (nothing says where
    ///   its packages came from).
    public static func sbom(of commit: Commit, in store: Store, packagers: Packagers) throws -> SBOM {
        let locks = try lockChain(from: commit, in: store)
        guard let lock = locks.first else {
            throw StrataError(.notFound, "commit \(commit.tree.hex.prefix(12)) records no lockfile: it has no SBOM")
        }
        return try sbom(
            ref: Self.ref(of: commit), created: commit.timestamp, locks: locks, readTree: readBase(commit, in: store),
            packager: packagers.packager(for: lock.family), store: store)
    }

    /// `target/set/architecture` of a commit, as its origin records them.
    static func ref(of commit: Commit) -> String {
        ["target", "set", "architecture"].compactMap { commit.origin[$0] }.joined(separator: "/")
    }

    /// The commit's lockfile, then (a layer) its base commit's, and so on down.
    static func lockChain(from commit: Commit, in store: Store) throws -> [Lockfile] {
        var locks = [Lockfile]()
        var current: Commit? = commit
        while let commit = current, locks.count < 64 {
            guard let digest = commit.lockDigest else { break }
            let bytes = try FileReader.readAll(store.blobs.path(of: digest))
            locks.append(try Lockfile.decode(bytes, what: "the lockfile \(digest.hex.prefix(12))… of a commit"))
            current = try commit.origin[LayerOrigin.baseCommit].map { try store.readCommit(SHA256Digest(hex: $0)) }
        }
        return locks
    }

    /// The SBOM of the tree `readTree` reads, built from `locks` (its own first).
    static func sbom(
        ref: String, created: Int64, locks: [Lockfile], readTree: @Sendable (String) throws -> [UInt8]?,
        packager: any Packager, store: Store
    ) throws -> SBOM {
        guard let lock = locks.first else { throw StrataError.internalError("an SBOM without a lockfile") }
        // The tree's database says what is installed (a layer's removals are gone from it); a
        // packager that cannot read its database yet (rpm, which does not layer) has its lock.
        let installed = try? packager.installedPackages(readBase: readTree)
        let packages = try SBOM.packages(installed: installed, locks: locks) { package, lock in
            try packager.sbomFacts(of: package, lock: lock, store: store)
        }
        let image = OCIImage(ref: ref, created: created, lockDigest: nil)
        return SBOM(
            name: ref.replacingOccurrences(of: "/", with: "-"), version: image.refName, created: created,
            lockDigest: SHA256Digest.of(try lock.encoded()), packages: packages)
    }

    /// Where the document of `sbom` goes beside `output`: its name without the format's suffix,
    /// then `.spdx.json` or `.cdx.json` (`minbase.tar.zst` → `minbase.spdx.json`).
    public static func sbomPath(beside output: String, sbom: SBOMFormat) -> String {
        var base = output.count > 1 && output.hasSuffix("/") ? String(output.dropLast()) : output
        let file = (base as NSString).lastPathComponent
        if let suffix = OutputTarget.names.map({ ".\($0.name)" }).sorted(by: { $0.count > $1.count })
            .first(where: { file.hasSuffix($0) && file.count > $0.count })
        {
            base = String(base.dropLast(suffix.count))
        }
        return base + sbom.fileSuffix
    }

    /// Writes the documents beside `output`, each atomically.
    /// - Returns: their paths.
    @discardableResult
    static func writeSBOMs(_ documents: [(SBOMFormat, [UInt8])], beside output: String) throws -> [String] {
        try documents.map { format, bytes in
            let path = sbomPath(beside: output, sbom: format)
            try FileSystem.writeAtomically(bytes, to: path)
            return path
        }
    }
}

extension Builder {
    /// The documents of `formats` for the tree `readTree` reads (none: nothing is made), from the
    /// store's cache when these very inputs made them before: the same strata and import format,
    /// ref, date, lockfiles and installed packages give the same bytes, so an unchanged build
    /// does not describe its packages again.
    static func sbomDocuments(
        _ formats: [SBOMFormat], ref: String, created: Int64, locks: [Lockfile],
        readTree: @Sendable (String) throws -> [UInt8]?, packager: any Packager, store: Store
    ) throws -> [(SBOMFormat, [UInt8])] {
        guard !formats.isEmpty, !locks.isEmpty else { return [] }
        let installed = try? packager.installedPackages(readBase: readTree)
        var key = "strata \(StrataVersion.string) \(packager.family) import \(packager.importFormat) \(ref) \(created)\n"
        for lock in locks { key += SHA256Digest.of(try lock.encoded()).hex + "\n" }
        for (name, version) in (installed ?? [:]).sorted(by: { $0.key < $1.key }) { key += "\(name) \(version)\n" }
        let cache = ResultCache(store: store.blobs)
        var made: SBOM?
        return try formats.map { format in
            let digest = SHA256Digest.of(Array("\(format.rawValue)\n\(key)".utf8))
            if let bytes = cache.sbom(digest) { return (format, bytes) }
            let sbom = try made ?? Self.sbom(ref: ref, created: created, locks: locks, readTree: readTree, packager: packager, store: store)
            made = sbom
            let bytes = try sbom.encoded(format)
            try? cache.saveSBOM(bytes, key: digest)
            return (format, bytes)
        }
    }

    /// The documents of `formats` for a committed template.
    static func sbomDocuments(_ formats: [SBOMFormat], of commit: Commit, in store: Store, packagers: Packagers) throws
        -> [(SBOMFormat, [UInt8])]
    {
        guard !formats.isEmpty else { return [] }
        let locks = try lockChain(from: commit, in: store)
        guard let lock = locks.first else { return [] }
        return try sbomDocuments(
            formats, ref: ref(of: commit), created: commit.timestamp, locks: locks, readTree: readBase(commit, in: store),
            packager: packagers.packager(for: lock.family), store: store)
    }

    /// Reads a path of a finished tree on disk (one this build made, not a hostile one).
    static func readFinished(_ root: String) -> @Sendable (String) throws -> [UInt8]? {
        { path in FileManager.default.contents(atPath: "\(root)/\(path)").map { Array($0) } }
    }
}
