// Layering (docs/layering.md): packages added to (or removed from) a committed template as a new
// template, without building the base again. The base commit's tree is checked out by hardlinks
// as the overlay's lower layer; the packager resolves the additions with the base's installed
// packages locked, the new packages are fetched, imported and composed over the checkout, added
// to the tree's package database, and only their scripts (and the triggers they set off) run,
// with the tree's own package tool. The commit names its base as first parent and records the
// requests as typed in its origin, so `strata status` and `strata upgrade` can follow the base.
import Foundation
import StrataArchive
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

extension Builder {
    /// What to layer onto which base.
    public struct LayerJob: Sendable {
        /// The base commit and how the user named it (a ref, recorded so that `status` can tell
        /// whether it moved on).
        public var base: SHA256Digest
        public var baseName: String
        /// The base template's spec (repositories, excludes, cleanup), loaded from the tree.
        public var spec: TemplateSpec
        public var add: [String]
        public var remove: [String]
        /// The layer's set name (its ref is DISTRO/VERSION/NAME/ARCH); default: ``defaultName``.
        public var name: String?
        public var output: String
        public var format: OutputFormat
        public var urls: [String: String]
        public var sourceDateEpoch: Int64?
        public var keepFailed = false
        /// The application template the layer is built from (its set; recorded in the origin).
        public var application: String?
        /// Run every stage even when the layer's ref names a commit of these very inputs.
        public var rebuild = false
        /// A removal the base has no package for is satisfied (reported), not an error: for an
        /// application template's `name-` lines and for `upgrade` onto a base that dropped it.
        public var removalsMayBeGone = false

        public init(
            base: SHA256Digest, baseName: String, spec: TemplateSpec, add: [String], remove: [String] = [],
            name: String? = nil, output: String, format: OutputFormat, urls: [String: String],
            sourceDateEpoch: Int64? = nil, keepFailed: Bool = false
        ) {
            self.base = base
            self.baseName = baseName
            self.spec = spec
            self.add = add
            self.remove = remove
            self.name = name
            self.output = output
            self.format = format
            self.urls = urls
            self.sourceDateEpoch = sourceDateEpoch
            self.keepFailed = keepFailed
        }
    }

    /// What a layer made.
    public struct LayerResult: Sendable {
        public var build: Result
        public var ref: String
        public var name: String
        /// Requests the base already satisfies, with what satisfies each.
        public var inactive: [String: String]
        /// The packages layered (added), as locked.
        public var layered: [Lockfile.Package]
        public var removed: [String]
    }

    /// The default set name of a layer: the base's set, then each request (`minbase_curl`,
    /// `minbase_curl_-nano` for a removal); `_` never occurs in a Debian package name.
    public static func defaultLayerName(baseSet: String, add: [String], remove: [String]) -> String {
        ([baseSet] + add + remove.map { "-\($0)" }).joined(separator: "_")
    }

    /// The origin keys a layer's commit records (beside target, set and architecture).
    public enum LayerOrigin {
        public static let base = "base"
        public static let baseCommit = "baseCommit"
        /// The template set the base was built from (a layer's own set is its name).
        public static let templateSet = "templateSet"
        public static let add = "add"
        public static let remove = "remove"
        public static let inactive = "inactive"
        /// The application template (a set with `@base`) the layer was built from.
        public static let application = "application"
    }

    /// Layers `job.add` (and removes `job.remove`) onto the base commit; see the top of this file.
    /// - Throws: ``StrataError`` `.unsatisfiable` when an addition needs another version of a
    ///   base package (each pair named) or a removal is still needed; the packager's errors.
    public func layer(_ job: LayerJob) async throws -> LayerResult {
        let packager = try packagers.packager(for: job.spec.family)
        return try await layer(job, with: packager)
    }

    /// What a layer would add and remove, resolved now, without building it (`upgrade --dry-run`).
    public struct LayerPlan: Sendable {
        public var ref: String
        public var name: String
        public var spec: TemplateSpec
        public var resolution: LayerResolution
        /// The base commit and its tree, as read for the resolution.
        public var base: Commit
        public var manifest: TreeManifest
    }

    /// Resolves `job` onto its base without building anything.
    public func planLayer(_ job: LayerJob) async throws -> LayerPlan {
        let packager = try packagers.packager(for: job.spec.family)
        return try await planLayer(job, with: packager)
    }

    func planLayer<P: Packager>(_ job: LayerJob, with packager: P) async throws -> LayerPlan {
        let baseCommit = try store.readCommit(job.base)
        let manifest = try store.readTree(baseCommit.tree)
        let baseSet = baseCommit.origin["set"] ?? job.spec.set
        let name = job.name ?? Self.defaultLayerName(baseSet: baseSet, add: job.add, remove: job.remove)
        var spec = job.spec
        spec.set = name
        let ref = Committer.ref(for: spec)
        try Store.validateRefName(ref)
        let readBase = Self.readBase(manifest, in: store)
        var remove = job.remove
        if job.removalsMayBeGone, !remove.isEmpty {
            let installed = try packager.installedPackages(readBase: readBase)
            for name in remove where installed[name] == nil {
                report("layer: \(job.spec.origin(of: name))\(name)-: the base has no \(name); nothing to remove")
            }
            remove = remove.filter { installed[$0] != nil }
        }
        report("layer: resolving onto \(job.baseName) (\(job.base.hex.prefix(12)))")
        let resolution = try await packager.resolveLayer(
            LayerRequest(resolve: ResolveRequest(spec: spec, urls: job.urls), add: job.add, remove: remove, readBase: readBase),
            fetcher: fetcher)
        return LayerPlan(ref: ref, name: name, spec: spec, resolution: resolution, base: baseCommit, manifest: manifest)
    }

    /// A committed tree's files by path, read from their objects (a package database).
    static func readBase(_ manifest: TreeManifest, in store: Store) -> @Sendable (String) throws -> [UInt8]? {
        var files = [String: ObjectID]()
        for entry in manifest.entries where entry.kind == .file { files[entry.path] = entry.object }
        return { [files] path in
            guard let object = files[path] else { return nil }
            return try FileReader.readAll(store.objectPath(object))
        }
    }

    static func readBase(_ commit: Commit, in store: Store) throws -> @Sendable (String) throws -> [UInt8]? {
        readBase(try store.readTree(commit.tree), in: store)
    }

    func layer<P: Packager>(_ job: LayerJob, with packager: P) async throws -> LayerResult {
        let plan = try await planLayer(job, with: packager)
        let (ref, name, spec, resolution) = (plan.ref, plan.name, plan.spec, plan.resolution)
        let (baseCommit, manifest) = (plan.base, plan.manifest)
        let baseSet = baseCommit.origin["set"] ?? job.spec.set
        let lock = resolution.lockfile
        for (request, satisfied) in resolution.inactive.sorted(by: { $0.key < $1.key }) {
            report("layer: \(request) is inactive: the base has \(satisfied)")
        }
        let epoch = job.sourceDateEpoch ?? max(baseCommit.timestamp, lock.newestIndexDate ?? 0)
        var origin = [
            "target": spec.target, "set": name, "architecture": spec.architecture.debian, "family": spec.family.rawValue,
            LayerOrigin.base: job.baseName, LayerOrigin.baseCommit: job.base.hex,
            LayerOrigin.templateSet: baseCommit.origin[LayerOrigin.templateSet] ?? baseSet,
            LayerOrigin.add: job.add.joined(separator: " "),
        ]
        if let application = job.application { origin[LayerOrigin.application] = application }
        if !job.remove.isEmpty { origin[LayerOrigin.remove] = job.remove.joined(separator: " ") }
        if !resolution.inactive.isEmpty { origin[LayerOrigin.inactive] = resolution.inactive.keys.sorted().joined(separator: " ") }
        let basePackages = Int(baseCommit.metadata["packages"] ?? "") ?? 0
        var metadata = Committer.metadata(spec, lock)
        metadata["packages"] = String(basePackages + lock.packages.count - resolution.removed.count)
        metadata["layered"] = String(lock.packages.count)
        let provenance = Committer.Provenance(ref: ref, origin: origin, metadata: metadata, base: job.base)
        // An unchanged layer is a lookup, as an unchanged build is: the same base commit,
        // requests, resolution, template and epoch.
        if !job.rebuild, let id = try store.ref(ref), let commit = try? store.readCommit(id),
            commit.parents.first == job.base, commit.lockDigest == SHA256Digest.of(try lock.encoded()),
            commit.origin == origin, commit.metadata == metadata, commit.timestamp == epoch, store.containsTree(commit.tree)
        {
            report("unchanged: \(ref) is this layer of \(job.base.hex.prefix(12)) already; exporting it")
            let (store, output, format, sbom) = (self.store, job.output, job.format, (formats: sbomFormats, packagers: packagers))
            let stats = try await Offload.run {
                try Self.export(commit, from: store, to: output, format: format, sbom: sbom, report: { _ in })
            }
            let build = Result(
                packages: Int(metadata["packages"] ?? "") ?? 0, files: stats.files, bytes: stats.bytes, output: output,
                outputDigest: stats.digest, commit: id, imported: 0, usedOverlay: false, reused: true)
            return LayerResult(
                build: build, ref: ref, name: name, inactive: resolution.inactive, layered: lock.packages,
                removed: resolution.removed)
        }
        let imported =
            lock.packages.isEmpty
            ? ImportStage<P>.Output(packages: [], imported: 0)
            : try await fetchAndImport(lock, urls: job.urls, with: packager)
        let build = try await Offload.run { [spec] in
            try self.layerStages(
                job, spec: spec, lock: lock, epoch: epoch, base: baseCommit, manifest: manifest, removing: resolution.removed,
                packager: packager, imported: imported, provenance: provenance)
        }
        return LayerResult(
            build: build, ref: ref, name: name, inactive: resolution.inactive, layered: lock.packages,
            removed: resolution.removed)
    }

    /// Checkout, compose, register, configure, finalize, export and commit, on the calling thread.
    @available(*, noasync)
    func layerStages<P: Packager>(
        _ job: LayerJob, spec: TemplateSpec, lock: Lockfile, epoch: Int64, base: Commit, manifest: TreeManifest,
        removing: [String], packager: P, imported: ImportStage<P>.Output, provenance: Committer.Provenance
    ) throws -> Result {
        let packages = imported.packages
        let scratch = try Scratch(storeRoot: store.root)
        var kept = false
        defer { if !kept { scratch.remove() } }
        do {
            report("checkout: the base's tree \(base.tree.hex.prefix(12)) into \(scratch.lower)")
            let checkout = try Checkout(store: store).run(tree: base.tree, manifest: manifest, into: scratch.lower)
            report("compose: \(packages.count) packages over the base")
            let composed = try ComposeStage(layout: packager.layout, excludes: spec.excludes, deferSymlinks: true)
                .run(packages, root: scratch.lower)
            if composed.excluded > 0 { report("compose: \(composed.excluded) paths excluded by the template") }
            let usedOverlay = try scratch.mountOverlay()
            if !usedOverlay { report("compose: overlayfs unavailable; configuring a copy of the tree instead") }
            try Composer.placeSymlinks(composed.symlinks, in: scratch.merged)
            // The base's files are its objects too: a file no script touched is known, not hashed.
            var objects = [String: String]()
            for entry in manifest.entries where entry.kind == .file {
                if let object = entry.object { objects[entry.path] = store.objectPath(object) }
            }
            objects.merge(composed.tree.objects) { _, new in new }
            var tree = ComposedTree(root: scratch.merged, layout: composed.tree.layout, objects: objects)
            tree.sourceDateEpoch = epoch
            try packager.registerLayer(packages, lock: lock, spec: spec, in: tree)
            let removals = removing.isEmpty ? "" : ", removing \(removing.joined(separator: " "))"
            report("configure: maintainer scripts of \(packages.count) packages\(removals)")
            try packager.configureLayer(
                packages, removing: removing, in: scratch.merged,
                context: ScriptContext(sourceDateEpoch: epoch, settings: spec.settings, report: report))

            report("finalize")
            // The base was finalized: what it kept stays; only what the layer's scripts left goes.
            let owned = Set(manifest.entries.map(\.path)).union(
                packages.flatMap { $0.entries.map { packager.layout.path($0.path) } })
            _ = try Finalizer.cleanup(root: scratch.merged, globs: spec.cleanup, owned: owned)
            try Finalizer.resetMachineID(root: scratch.merged)
            let warnings = try packager.finalize(packages, root: scratch.merged, lock: lock, spec: spec)
            warnings.forEach { Diagnostics.warning($0) }

            let hardlinks = checkout.hardlinks.union(packages.flatMap { $0.declaredHardlinks(packager.layout) })
            let knownObject = usedOverlay ? scratch.untouched(tree) : { _ in nil }
            let (stats, commit) = try exportAndCommit(
                root: scratch.merged, output: job.output, format: job.format, epoch: epoch, hardlinks: hardlinks,
                ref: provenance.ref, locks: [lock] + (try Self.lockChain(from: base, in: store)), packager: packager
            ) {
                try Committer(store: store).commit(
                    root: scratch.merged, hardlinks: hardlinks, knownObject: knownObject, clampMtime: epoch, lock: lock,
                    provenance: provenance)
            }
            return Result(
                packages: Int(provenance.metadata["packages"] ?? "") ?? packages.count, files: stats.files,
                bytes: stats.bytes, output: job.output, outputDigest: stats.digest, commit: commit,
                imported: imported.imported, usedOverlay: usedOverlay)
        } catch {
            Interruption.parkIfInterrupted()
            kept = job.keepFailed
            throw try failure(error, spec: spec, scratch: scratch, kept: kept)
        }
    }
}
