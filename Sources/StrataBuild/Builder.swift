// The build pipeline of DESIGN.md for a Debian template, after planning: fetch the locked
// packages into the blob store, import each one once into store objects, compose the tree by
// hardlinks as the lower layer of an overlay, write the dpkg database, run the maintainer
// scripts inside the merged view, finalize, export, and commit the result to the store.
import Foundation
import StrataArchive
import StrataCore
import StrataDeb
import StrataStore
import StrataTemplate

#if canImport(Glibc)
    import Glibc
#endif

public struct Builder: Sendable {
    public enum OutputFormat: Sendable, Equatable {
        case directory
        case tar(TarCompression)

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
    }

    public let store: Store
    public let fetcher: any Fetcher
    /// Progress lines (`stage: detail`), for the command line to show.
    public let report: @Sendable (String) -> Void

    public init(store: Store, fetcher: any Fetcher, report: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.fetcher = fetcher
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
    public func build(
        spec: TemplateSpec, lock: Lockfile, output: String, format: OutputFormat, urls: [String: String] = [:],
        sourceDateEpoch: Int64? = nil, keepFailed: Bool = false
    ) async throws -> Result {
        guard spec.family == .deb else {
            throw StrataError(.invalidInput, "\(spec.target): building \(spec.family) templates is not supported yet")
        }
        let epoch = sourceDateEpoch ?? lock.newestIndexDate ?? 0
        report("fetch: \(lock.packages.count) packages")
        let blobs = try await PackageFetcher(fetcher: fetcher).fetchAll(lock, urls: urls) { done, total, bytes in
            if done == total || done % 16 == 0 {
                self.report("fetch: \(done)/\(total) packages, \(bytes / 1_000_000) MB")
            }
        }
        report("import: \(blobs.count) packages")
        let importer = Importer(store: store)
        var imported = 0
        // Importing is CPU-bound (decompression, hashing): one package per core at a time.
        let jobs = Array(zip(lock.packages, blobs))
        let results = LockedBox([Int: Swift.Result<(ImportedPackage, Bool), any Error>]())
        try store.withWriterLock {
            DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
                let (package, blob) = jobs[index]
                let outcome = Swift.Result {
                    try importer.importDeb(blob: blob, what: "\(package.name) \(package.version)")
                }
                results.update { $0[index] = outcome }
            }
        }
        let packages = try (0..<jobs.count).map { index -> ImportedPackage in
            guard let outcome = results.get()[index] else {
                throw StrataError.internalError("import \(index) did not run")
            }
            let (package, fresh) = try outcome.get()
            if fresh { imported += 1 }
            return package
        }
        let scratch = try Scratch(storeRoot: store.root)
        var kept = false
        defer { if !kept { scratch.remove() } }
        do {
            report("compose: \(packages.count) packages into \(scratch.lower)")
            var composer = try Composer(root: scratch.lower)
            defer { composer.close() }
            try DevNodes.create(in: scratch.lower)
            var excluded = 0
            for package in packages {
                var excludedFiles = [String: ComposeEntry]()
                for var entry in package.entries {
                    if Excludes.matches(entry, spec.excludes) {
                        excluded += 1
                        excludedFiles[entry.path] = entry
                        continue
                    }
                    // A hardlink to an excluded file becomes a file of its own (the same object).
                    if case .hardlink(let target) = entry.kind, let original = excludedFiles[target] {
                        entry.kind = original.kind
                        excludedFiles[target] = nil
                    }
                    try composer.place(entry)
                }
            }
            try Excludes.record(spec.excludes, in: scratch.lower)
            if excluded > 0 { report("compose: \(excluded) paths excluded by the template") }
            try composer.linkMergedDirectories()
            // A conffile's md5 from the composed file, or from its store object when excludes kept it out.
            var objects = [String: String]()
            for package in packages {
                for entry in package.entries {
                    if case .file(let object) = entry.kind {
                        objects["\(scratch.lower)/\(Composer.mergedPath(entry.path))"] = object
                    }
                }
            }
            try DpkgDatabase.write(packages.map(\.record), dummies: lock.dummies ?? [], root: scratch.lower) { path in
                if !FileManager.default.fileExists(atPath: path), let object = objects[path] {
                    return try Digests.md5(file: object)
                }
                return try Digests.md5(file: path)
            }

            let usedOverlay = try scratch.mountOverlay()
            if !usedOverlay { report("compose: overlayfs unavailable; configuring a copy of the tree instead") }
            report("configure: maintainer scripts of \(packages.count) packages")
            try DebConfigurer.configure(root: scratch.merged, packages: packages.map(\.record), sourceDateEpoch: epoch)
            {
                let repaired = try Diversions.repair(root: scratch.merged, packages: packages)
                if !repaired.isEmpty {
                    self.report("configure: \(repaired.count) diversions of shipped files put in place")
                }
            }

            try Customizer.run(try spec.customizeHooks(), root: scratch.merged, sourceDateEpoch: epoch) { report($0) }

            report("finalize")
            let owned = Set(packages.flatMap { $0.entries.map { Composer.mergedPath($0.path) } })
            _ = try Finalizer.cleanup(root: scratch.merged, globs: spec.cleanup, owned: owned)
            try Finalizer.resetMachineID(root: scratch.merged)
            let leftOut = try Finalizer.writeAptSources(
                root: scratch.merged, repositories: lock.repositories, specs: spec.repositories)
            leftOut.forEach { Diagnostics.warning($0) }

            report("export: \(output)")
            let hardlinks = Set(packages.flatMap(\.declaredHardlinks))
            let stats = try Exporter.export(
                root: scratch.merged, to: output, format: format, clampMtime: epoch, hardlinks: hardlinks)
            report("commit: the tree into the store")
            let commit = try Committer(store: store).commit(
                root: scratch.merged, hardlinks: hardlinks, knownObjects: try knownObjects(packages), clampMtime: epoch,
                lock: lock, spec: spec)
            let digest: SHA256Digest? = format == .directory ? nil : try SHA256Digest.of(file: output)
            return Result(
                packages: packages.count, files: stats.files, bytes: stats.bytes, output: output, outputDigest: digest,
                commit: commit, imported: imported, usedOverlay: usedOverlay)
        } catch {
            Interruption.parkIfInterrupted()
            kept = keepFailed
            throw try failure(error, spec: spec, scratch: scratch, kept: kept)
        }
    }
}

extension Builder {
    /// `error` with what a user needs next: a failed script's whole output in a log under the
    /// store's `logs/` (its path in the message), and where the failed tree is when it was kept.
    func failure(_ error: any Error, spec: TemplateSpec, scratch: Scratch, kept: Bool) throws -> any Error {
        guard var error = error as? StrataError else { return error }
        if let output = error.cause as? ScriptOutput {
            let stamp = ISO8601DateFormatter.string(
                from: Date(), timeZone: .gmt, formatOptions: [.withFullDate, .withTime])
            let name =
                "\(stamp)-\(spec.target.replacingOccurrences(of: "/", with: "-"))-\(spec.set)-\(spec.architecture).configure.log"
            let path = "\(store.root)/logs/\(name)"
            do {
                try FileSystem.writeAtomically(
                    Array("# \(output.what), exit \(output.status)\n\(output.text)".utf8), to: path)
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

extension Builder {
    /// The store objects the packages' files are, by `"device:inode"`.
    func knownObjects(_ packages: [ImportedPackage]) throws -> [String: ObjectID] {
        var out = [String: ObjectID]()
        for package in packages {
            for entry in package.entries {
                guard case .file(let path) = entry.kind,
                    let id = try? ObjectID(hex: String(path.suffix(65).filter { $0 != "/" }))
                else { continue }
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                out["\(st.st_dev):\(st.st_ino)"] = id
            }
        }
        return out
    }
}

extension Lockfile {
    /// The newest date of the indexes, as seconds since the epoch.
    public var newestIndexDate: Int64? {
        let parser = ISO8601DateFormatter()
        return repositories.compactMap { $0.date.flatMap(parser.date(from:)) }.max().map {
            Int64($0.timeIntervalSince1970)
        }
    }
}
