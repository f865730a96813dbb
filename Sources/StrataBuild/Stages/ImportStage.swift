// Import: every locked package's blob read once into store objects by its packager, one package
// per core at a time (decompression and hashing are CPU-bound), under the store's writer lock,
// flushed to disk once at the end (Store+DeferredSync.swift).
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

    /// - Parameter blobs: the blob of each of `lock`'s packages, in its order.
    func run(_ lock: Lockfile, blobs: [SHA256Digest]) throws -> Output {
        let jobs = Array(zip(lock.packages, blobs))
        let results = LockedBox([Int: Swift.Result<(ImportedPackage<P.Record>, Bool), any Error>]())
        try store.withWriterLock {
            // Thousands of new objects: flushed once at the end, not one by one.
            try store.withDeferredSync { batch in
                let importer = PackageImporter(store: batch)
                DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
                    let (package, blob) = jobs[index]
                    let outcome = Swift.Result { try packager.importPackage(package, blob: blob, importer: importer) }
                    results.update { $0[index] = outcome }
                }
            }
        }
        var imported = 0
        let packages = try (0..<jobs.count).map { index -> ImportedPackage<P.Record> in
            guard let outcome = results.get()[index] else { throw StrataError.internalError("import \(index) did not run") }
            let (package, fresh) = try outcome.get()
            if fresh { imported += 1 }
            return package
        }
        return Output(packages: packages, imported: imported)
    }
}
