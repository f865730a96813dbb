// Import: every locked package's blob read once into store objects by its packager, one package
// per core at a time (decompression and hashing are CPU-bound), under the store's writer lock,
// flushed to disk once at the end (Store+DeferredSync.swift). A build imports each package as its
// download completes (the blobs arrive through a HandoffQueue while the rest are still fetched).
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

/// Imports fetched packages.
struct ImportStage<P: Packager> {
    let packager: P
    let store: Store

    struct Output {
        /// In the lockfile's order.
        var packages: [ImportedPackage<P.Record>]
        /// How many were read now (the rest were in the store).
        var imported: Int
    }

    /// - Parameter blobs: the blob of each of `lock`'s packages, in its order (all at hand: no wait).
    func run(_ lock: Lockfile, blobs: [SHA256Digest]) throws -> Output {
        let arrivals = HandoffQueue<(Int, SHA256Digest)>()
        for (index, blob) in blobs.enumerated() { arrivals.push((index, blob)) }
        arrivals.finish()
        return try run(lock, arriving: arrivals)
    }

    /// Imports `lock`'s packages as their blobs arrive, `(index in the lockfile, blob)`, until
    /// `arrivals` finishes; one thread per core takes the next arrival.
    /// - Throws: the first import failure (the other threads stop taking arrivals, and what they
    ///   had begun is finished and flushed), or the error `arrivals` failed with.
    @available(*, noasync)
    func run(_ lock: Lockfile, arriving arrivals: HandoffQueue<(Int, SHA256Digest)>, progress: @escaping @Sendable (Int) -> Void = { _ in }) throws -> Output {
        let packages = lock.packages
        let results = LockedBox([Int: (ImportedPackage<P.Record>, Bool)]())
        let firstFailure = LockedBox<(any Error)?>(nil)
        // The store's writer lock from the first download on, not while the first one is awaited.
        arrivals.waitForFirst()
        try store.withWriterLock {
            // Thousands of new objects: flushed once at the end, not one by one.
            try store.withDeferredSync { batch in
                let importer = PackageImporter(store: batch)
                // Threads of their own: they wait for downloads, which must not wait for them.
                Offload.onThreads(max(1, ProcessInfo.processInfo.activeProcessorCount)) { _ in
                    do {
                        while let (index, blob) = try arrivals.next() {
                            guard packages.indices.contains(index) else {
                                throw StrataError.internalError("import: no package \(index) in the lockfile")
                            }
                            let outcome = try packager.importPackage(packages[index], blob: blob, importer: importer)
                            let done = results.update { results -> Int in
                                results[index] = outcome
                                return results.count
                            }
                            progress(done)
                        }
                    } catch {
                        firstFailure.update { if $0 == nil { $0 = error } }
                        arrivals.fail(error)
                    }
                }
            }
        }
        if let failure = firstFailure.get() { throw failure }
        var imported = 0
        let done = results.get()
        let ordered = try packages.indices.map { index -> ImportedPackage<P.Record> in
            guard let (package, fresh) = done[index] else {
                throw StrataError.internalError("import: \(packages[index].name) never arrived")
            }
            if fresh { imported += 1 }
            return package
        }
        return Output(packages: ordered, imported: imported)
    }
}
