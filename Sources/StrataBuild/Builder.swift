// The build pipeline of DESIGN.md, after planning, the same stages for every packager (the
// files under Stages/): fetch the locked packages into the blob store, import each one once into
// store objects, compose the tree by hardlinks as the lower layer of an overlay, register the
// packages in the tree's database, run their scripts inside the merged view, customize,
// finalize, export, and commit the result to the store. What differs by package format is the
// packager's (StrataPackaging's `Packager`).
import Foundation
import StrataArchive
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

#if canImport(Glibc)
    import Glibc
#endif

public struct Builder: Sendable {
    public enum OutputFormat: Sendable, Equatable {
        case directory
        case tar(TarCompression)
        /// Nothing written outside the store: the tree is committed only (a base an application
        /// template's build needed first).
        case storeOnly
        /// An OCI image layout directory of one image of one gzip layer (Stages/OCIExport.swift).
        case oci
        /// A tar of an OCI image layout (skopeo's `oci-archive:`).
        case ociArchive

    }

    public struct Result: Sendable {
        public var packages: Int
        public var files: Int
        public var bytes: UInt64
        public var output: String
        public var outputDigest: SHA256Digest?
        public var commit: SHA256Digest
        public var imported: Int
        public var usedOverlay: Bool
        /// The lockfile, template and pipeline were those of the ref's commit: it was exported,
        /// and fetch, import, compose, configure and commit were skipped.
        public var reused = false
    }

    public let store: Store
    public let fetcher: any Fetcher
    /// The package formats this build can make, one packager each.
    public let packagers: Packagers
    /// Progress lines (`stage: detail`), for the command line to show.
    public let report: @Sendable (String) -> Void
    /// The SBOMs written beside each output (and into an OCI output); none for `[]`.
    public var sbomFormats: [SBOMFormat] = []

    public init(
        store: Store, fetcher: any Fetcher, packagers: Packagers, report: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.store = store
        self.fetcher = fetcher
        self.packagers = packagers
        self.report = report
    }

    /// Builds `spec` from `lock` into `output`.
    /// - Parameters:
    ///   - urls: repository name → where to fetch its packages now (`--mirror`); default: the
    ///     lockfile's URLs. Packages are pinned by SHA-256, so any mirror serves.
    ///   - sourceDateEpoch: the time every mtime is clamped to; default: the newest index date
    ///     in the lockfile.
    ///   - keepFailed: when a stage after compose fails, leave the tree (the overlay mounted)
    ///     for inspection instead of removing it; `strata gc` removes it later.
    ///   - rebuild: run every stage even when the ref's commit was built from these very inputs
    ///     (otherwise that commit is exported: an unchanged rebuild is a lookup).
    public func build(
        spec: TemplateSpec, lock: Lockfile, output: String, format: OutputFormat, urls: [String: String] = [:],
        sourceDateEpoch: Int64? = nil, keepFailed: Bool = false, rebuild: Bool = false
    ) async throws -> Result {
        let packager = try packagers.packager(for: spec.family)
        let job = Job(
            spec: spec, lock: lock, output: output, format: format, urls: urls,
            epoch: sourceDateEpoch ?? lock.newestIndexDate ?? 0, keepFailed: keepFailed)
        // An unchanged rebuild is a lookup: the commit built from these very inputs, exported.
        if !rebuild, let (id, commit) = try Committer(store: store).unchanged(spec, lock: lock, epoch: job.epoch) {
            report("unchanged: \(Committer.ref(for: spec)) is built from this lockfile and template; exporting it")
            let (store, sbom) = (self.store, (formats: sbomFormats, packagers: packagers))
            let stats = try await Offload.run {
                try Self.export(commit, from: store, to: output, format: format, sbom: sbom, report: { _ in })
            }
            return Result(
                packages: lock.packages.count, files: stats.files, bytes: stats.bytes, output: output,
                outputDigest: stats.digest, commit: id, imported: 0, usedOverlay: false, reused: true)
        }
        return try await run(job, with: packager)
    }

    /// Writes the tree of `commit` to `output` as the build that made it did: a tar straight from
    /// the store's objects (CommittedExport.swift), or, for a directory or a tree whose owner
    /// files a checkout would follow, a checkout of the tree (hardlinks to the store's objects)
    /// exported with the commit's epoch.
    /// - Parameter readingObjects: false checks a tar's tree out first too (the two give the
    ///   same bytes; tests compare them).
    /// - Parameter sbom: the SBOMs to write beside the output (and into an OCI one), and the
    ///   packagers that describe the packages; nil writes none.
    @available(*, noasync)
    public static func export(
        _ commit: Commit, from store: Store, to output: String, format: OutputFormat, readingObjects: Bool = true,
        sbom: (formats: [SBOMFormat], packagers: Packagers)? = nil, report: (String) -> Void
    ) throws -> ExportStats {
        if format == .storeOnly { return ExportStats(files: 0, bytes: 0, digest: nil) }
        let documents = try sbomDocuments(sbom?.formats ?? [], of: commit, in: store, packagers: sbom?.packagers ?? Packagers([]))
        if readingObjects, case .tar(let compression) = format,
            let stats = try Exporter.exportCommitted(
                try store.readTree(commit.tree), store: store, to: output, compression: compression,
                clampMtime: commit.timestamp)
        {
            report("export: \(output) (from the store's objects)")
            try writeSBOMs(documents, beside: output)
            return stats
        }
        let scratch = try Scratch(storeRoot: store.root)
        defer { scratch.remove() }
        report("export: checking out tree \(commit.tree.hex.prefix(12))…")
        let checkout = try Checkout(store: store).run(tree: commit.tree, into: scratch.lower)
        report("export: \(output)")
        var image = OCIImage(ref: ref(of: commit), created: commit.timestamp, lockDigest: commit.lockDigest)
        image.sbom = documents.first { $0.0 == .spdx }.map { $0.1 }
        let stats = try Exporter.export(
            root: scratch.lower, to: output, format: format, clampMtime: commit.timestamp, hardlinks: checkout.hardlinks,
            image: image)
        try writeSBOMs(documents, beside: output)
        return stats
    }

    /// One build's inputs.
    struct Job: Sendable {
        var spec: TemplateSpec
        var lock: Lockfile
        var output: String
        var format: OutputFormat
        var urls: [String: String]
        var epoch: Int64
        var keepFailed: Bool
    }

    /// The stages, in DESIGN.md's order, for one packager.
    func run<P: Packager>(_ job: Job, with packager: P) async throws -> Result {
        let imported = try await fetchAndImport(job.lock, urls: job.urls, with: packager)
        // The stages from import on are synchronous (threads of their own, tools, file system
        // work): they run on a Dispatch thread, never blocking the cooperative pool.
        return try await Offload.run { try self.stages(job, with: packager, imported: imported) }
    }

    /// Fetch and import at once: each package is imported as soon as its download completes,
    /// while the others are still downloading (on a real mirror the downloads take longest).
    /// The first failure of either ends both: downloads in flight are cancelled, the imports
    /// begun are finished and flushed, and that failure is thrown.
    func fetchAndImport<P: Packager>(
        _ lock: Lockfile, urls: [String: String], with packager: P
    ) async throws -> ImportStage<P>.Output {
        let total = lock.packages.count
        report("fetch+import: \(total) packages")
        let arrivals = HandoffQueue<(Int, SHA256Digest)>()
        let progress = LockedBox((fetched: 0, bytes: UInt64(0), imported: 0))
        let say: @Sendable ((inout (fetched: Int, bytes: UInt64, imported: Int)) -> Bool) -> Void = { [report] change in
            let (shown, state) = progress.update { state in (change(&state), state) }
            if shown {
                report("fetch+import: \(state.fetched)/\(total) fetched (\(state.bytes / 1_000_000) MB), \(state.imported) imported")
            }
        }
        let fetcher = PackageFetcher(fetcher: self.fetcher)
        let stage = ImportStage(packager: packager, store: store)
        return try await withThrowingTaskGroup(of: ImportStage<P>.Output?.self) { group in
            group.addTask {
                do {
                    _ = try await fetcher.fetchAll(
                        lock, urls: urls, arrived: { arrivals.push(($0, $1)) },
                        progress: { done, _, bytes in
                            say { state in
                                (state.fetched, state.bytes) = (done, bytes)
                                return done == total || done % 16 == 0
                            }
                        })
                    arrivals.finish()
                } catch {
                    arrivals.fail(error)
                    throw error
                }
                return nil
            }
            group.addTask {
                do {
                    return try await Offload.onOwnThread {
                        try stage.run(lock, arriving: arrivals) { done in
                            say { state in
                                state.imported = done
                                return done == total || done % 16 == 0
                            }
                        }
                    }
                } catch {
                    arrivals.fail(error)
                    throw error
                }
            }
            // The first error thrown here is the one said; the group cancels the other task.
            var output: ImportStage<P>.Output?
            for try await result in group {
                if let result { output = result }
            }
            guard let output else { throw StrataError.internalError("import returned nothing") }
            return output
        }
    }

    /// Compose to commit, on the calling thread.
    @available(*, noasync)
    func stages<P: Packager>(_ job: Job, with packager: P, imported: ImportStage<P>.Output) throws -> Result {
        let (spec, lock, epoch) = (job.spec, job.lock, job.epoch)
        let packages = imported.packages
        let scratch = try Scratch(storeRoot: store.root)
        var kept = false
        defer { if !kept { scratch.remove() } }
        do {
            report("compose: \(packages.count) packages into \(scratch.lower)")
            // Symlinks go to the merged view once it is mounted: new inodes on the store's file
            // system are what composing costs (a tmpfs upper layer takes them for nothing).
            let composed = try ComposeStage(layout: packager.layout, excludes: spec.excludes, deferSymlinks: true)
                .run(packages, root: scratch.lower)
            if composed.excluded > 0 { report("compose: \(composed.excluded) paths excluded by the template") }
            let usedOverlay = try scratch.mountOverlay()
            if !usedOverlay { report("compose: overlayfs unavailable; configuring a copy of the tree instead") }
            try Composer.placeSymlinks(composed.symlinks, in: scratch.merged)
            // The database is written into the merged view: its few hundred new files land in the
            // upper layer (tmpfs), not as new inodes on the store's file system.
            var tree = ComposedTree(root: scratch.merged, layout: composed.tree.layout, objects: composed.tree.objects)
            tree.sourceDateEpoch = epoch
            try packager.register(packages, lock: lock, spec: spec, in: tree)
            report("configure: maintainer scripts of \(packages.count) packages")
            try packager.configure(
                packages, in: scratch.merged,
                context: ScriptContext(
                    sourceDateEpoch: epoch, installOrder: lock.installOrder, settings: spec.settings, report: report))

            try Customizer.run(try spec.customizeHooks(), root: scratch.merged, sourceDateEpoch: epoch) { report($0) }

            report("finalize")
            let owned = Set(packages.flatMap { $0.entries.map { packager.layout.path($0.path) } })
            _ = try Finalizer.cleanup(root: scratch.merged, globs: spec.cleanup, owned: owned)
            try Finalizer.resetMachineID(root: scratch.merged)
            let warnings = try packager.finalize(packages, root: scratch.merged, lock: lock, spec: spec)
            warnings.forEach { Diagnostics.warning($0) }

            let hardlinks = Set(packages.flatMap { $0.declaredHardlinks(packager.layout) })
            let knownObject = usedOverlay ? scratch.untouched(composed.tree) : { _ in nil }
            let (stats, commit) = try exportAndCommit(
                root: scratch.merged, output: job.output, format: job.format, epoch: epoch, hardlinks: hardlinks,
                ref: Committer.ref(for: spec), locks: [lock], packager: packager
            ) {
                try Committer(store: store).commit(
                    root: scratch.merged, hardlinks: hardlinks, knownObject: knownObject, clampMtime: epoch, lock: lock,
                    spec: spec)
            }
            return Result(
                packages: packages.count, files: stats.files, bytes: stats.bytes, output: job.output,
                outputDigest: stats.digest, commit: commit, imported: imported.imported, usedOverlay: usedOverlay)
        } catch {
            Interruption.parkIfInterrupted()
            kept = job.keepFailed
            throw try failure(error, spec: spec, scratch: scratch, kept: kept)
        }
    }
}

extension Builder.OutputFormat {
    /// Whether the output is one file (a tar, an OCI archive) rather than a directory.
    var isFile: Bool {
        switch self {
        case .tar, .ociArchive: return true
        case .directory, .oci, .storeOnly: return false
        }
    }
}

extension Builder {
    /// Export and commit of a finished tree at once: they only read it, so the output is written
    /// on another thread while the tree is checked in on this one.
    @available(*, noasync)
    func exportAndCommit(
        root: String, output: String, format: OutputFormat, epoch: Int64, hardlinks: Set<String>, ref: String,
        locks: [Lockfile], packager: any Packager, commit: () throws -> SHA256Digest
    ) throws -> (ExportStats, SHA256Digest) {
        guard let lock = locks.first else { throw StrataError.internalError("an export without its lockfile") }
        var image = OCIImage(ref: ref, created: epoch, lockDigest: SHA256Digest.of(try lock.encoded()))
        let store = self.store
        let documents = try Self.sbomDocuments(
            format == .storeOnly ? [] : sbomFormats, ref: ref, created: epoch, locks: locks, readTree: Self.readFinished(root),
            packager: packager, store: store)
        image.sbom = documents.first { $0.0 == .spdx }.map { $0.1 }
        let finalImage = image
        report(format == .storeOnly ? "commit: the tree into the store" : "export+commit: \(output), and the tree into the store")
        let exported = LockedBox<Swift.Result<ExportStats, any Error>?>(nil)
        let exporting = DispatchGroup()
        DispatchQueue.global().async(group: exporting) {
            exported.set(Swift.Result {
                try Exporter.export(root: root, to: output, format: format, clampMtime: epoch, hardlinks: hardlinks, image: finalImage)
            })
        }
        // A tar the export finished while the commit still runs is not the build's yet: an
        // interruption before both are done removes it.
        let committed = Interruption.whileRunning(cleanup: {
            // Only the tar this export renamed into place: before that, `output` may still be
            // a file of the user's that the export would have replaced.
            if format.isFile, case .success? = exported.get() { _ = unlink(output) }
        }) {
            let committed = Swift.Result { try commit() }
            exporting.wait()
            return committed
        }
        let stats: ExportStats
        do {
            stats = try (exported.get() ?? .failure(StrataError.internalError("the export did not finish"))).get()
        } catch var error as StrataError {
            if case .success = committed {
                error.message += "\n(the tree was committed all the same: `strata export \(ref)` writes it)"
            }
            throw error
        }
        let id = try committed.get()
        try Self.writeSBOMs(documents, beside: output)
        return (stats, id)
    }

    /// `error` with what a user needs next: a failed script's whole output in a log under the
    /// store's `logs/` (its path in the message), and where the failed tree is when it was kept.
    func failure(_ error: any Error, spec: TemplateSpec, scratch: Scratch, kept: Bool) throws -> any Error {
        guard var error = error as? StrataError else { return error }
        if let output = error.cause as? ScriptOutput {
            let stamp = ISO8601DateFormatter.string(
                from: Date(), timeZone: .gmt, formatOptions: [.withFullDate, .withTime])
            let name =
                "\(stamp)-\(spec.target.replacingOccurrences(of: "/", with: "-"))-\(spec.set)-\(spec.architecture).configure.log"
            let path = "\(store.logsDirectory)/\(name)"
            do {
                try store.blobs.replace(
                    path, with: Array("# \(output.what), exit \(output.status)\n\(output.text)".utf8), hint: "log")
                error.message += "\nthe whole output: \(path)"
            } catch let writing {
                error.message += "\n(the whole output could not be kept: \(StrataError.reason(of: writing)))"
            }
        }
        if kept {
            scratch.keep()
            // merged/ is the tree once the overlay is mounted or the copy made; before, lower/ is.
            let mergedIsTree = scratch.isOverlayMounted
                || !((try? FileManager.default.contentsOfDirectory(atPath: scratch.merged)) ?? []).isEmpty
            let tree = mergedIsTree ? scratch.merged : scratch.lower
            let state = scratch.isOverlayMounted ? "the overlay mounted; " : ""
            error.message += "\nthe failed tree is kept at \(tree) (\(state)`strata gc` unmounts and removes it)"
        } else if error.cause is ScriptOutput {
            error.message += "\n(--keep-failed keeps the failed tree for inspection)"
        }
        return error
    }
}
