// The resolve stage as a lookup: a lock resolved before from the same inputs is the answer. The
// inputs are everything a resolution reads: the template's configuration (its digest), its target
// and set names, architecture and family, each repository's URL and the exact bytes of its signed
// index (InRelease, repomd.xml: they name every index by digest), and the strata build that
// resolves (ExecutableIdentity). The packager fetches and checks the signed indexes first, so a
// stale or expired mirror is still refused; only solving is skipped.
import Foundation
import StrataCore
import StrataStore

extension ResolveRequest {
    /// The key under which a lock of this request against these signed indexes is kept.
    /// - Parameter signedIndexes: repository name → the digest of its signed index as fetched now.
    public func lockKey(signedIndexes: [String: SHA256Digest]) throws -> SHA256Digest {
        var lines = [
            "strata lock key 1", "build \(ExecutableIdentity.current)", "config \(try spec.computeConfigDigest().hex)",
            "target \(spec.target)", "set \(spec.set)", "family \(spec.family.rawValue)",
            "architecture \(spec.architecture.debian)",
        ]
        for repository in spec.repositories {
            guard let digest = signedIndexes[repository.name] else {
                throw StrataError.internalError("repository '\(repository.name)' has no signed index digest")
            }
            lines.append("repository \(repository.name) \(try url(of: repository)) \(digest.hex)")
        }
        return SHA256Digest.of(Array(lines.joined(separator: "\n").utf8))
    }

    /// The lock kept from an earlier resolution of the same inputs, or what `resolve` gives (kept
    /// for next time, with the warnings it gave, which a reuse gives again). Asking why a package
    /// is in the set, or ``resolveAgain``, always resolves.
    public func reusingLock(
        signedIndexes: [String: SHA256Digest], store: BlobStore, resolve: () async throws -> Resolution
    ) async throws -> Resolution {
        guard why == nil, !resolveAgain else { return try await resolve() }
        let cache = ResultCache(store: store)
        let key = try lockKey(signedIndexes: signedIndexes)
        if let bytes = cache.lock(key), let kept = try? JSONDecoder().decode(KeptLock.self, from: Data(bytes)),
            kept.lock.lockfileVersion == Lockfile.currentVersion, kept.lock.configDigest == (try spec.computeConfigDigest())
        {
            kept.warnings.forEach { Diagnostics.warning($0) }
            return Resolution(lockfile: kept.lock, why: nil, reused: true)
        }
        let warnings = LockedBox([String]())
        let outer = Diagnostics.recorder
        let recorder = Diagnostics.Recorder { severity, message in
            outer?.record(severity, message)
            if severity == .warning { warnings.update { $0.append(message) } }
        }
        let resolution = try await Diagnostics.$recorder.withValue(recorder) { try await resolve() }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let kept = KeptLock(lock: resolution.lockfile, warnings: warnings.get())
            try cache.saveLock(Array(try encoder.encode(kept)), key: key)
        } catch {
            Diagnostics.warning("the lock could not be kept for next time: \(StrataError.reason(of: error))")
        }
        return resolution
    }
}

/// A lock as the store keeps it, with what resolving it said.
private struct KeptLock: Codable {
    var lock: Lockfile
    var warnings: [String]
}
