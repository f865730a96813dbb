// `strata proxy clean` and the server's periodic cleanup.
//
// 1. Packages (immutable entries) that no cached index names any more, unused for longer than
//    the grace period, are removed; so are indexes nobody asked for within the grace period.
// 2. With a size limit, the least recently used entries go until the cache fits.
// 3. Blobs no remaining entry names are deleted (a blob younger than an hour that no entry ever
//    named is left alone: a download may be between its commit and its record).
// 4. Temporary files older than a day (or all of them, for the cache's lock holder) are deleted.
//
// It is safe while a server runs on the cache: a record whose blob is gone is a miss there.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public struct CleanReport: Sendable, Equatable {
    public var unreferencedRemoved = 0
    public var trimmedRemoved = 0
    public var blobsDeleted = 0
    public var bytesFreed: UInt64 = 0
    public var bytesKept: UInt64 = 0
    public var entriesKept = 0
    public var temporariesDeleted = 0

    public var summary: String {
        "removed \(unreferencedRemoved) unreferenced and \(trimmedRemoved) least-recently-used entries, deleted \(blobsDeleted) blobs (\(bytesFreed) bytes), \(temporariesDeleted) stale temporary files; kept \(entriesKept) entries, \(bytesKept) bytes"
    }
}

public struct ProxyCleaner: Sendable {
    let cache: ProxyCache
    let configuration: ProxyConfiguration

    public init(cache: ProxyCache, configuration: ProxyConfiguration) {
        self.cache = cache
        self.configuration = configuration
    }

    /// Cleans once.
    /// - Parameters:
    ///   - now: the current time (seconds since 1970); tests move it.
    ///   - allTemporaries: delete every temporary file (only when no server holds the cache).
    /// - Returns: what was done.
    public func clean(now: Double = Date().timeIntervalSince1970, allTemporaries: Bool = false) throws -> CleanReport {
        var report = CleanReport()
        let grace = Double(configuration.grace.components.seconds)
        var entries = cache.allEntries

        // What the indexes cached now name.
        let catalog = IndexCatalog()
        catalog.add(entries: entries, blobs: cache.blobs)
        let referencedDigests = catalog.referencedDigests

        var removedDigests = Set<SHA256Digest>()
        entries = entries.filter { entry in
            let idle = now - entry.lastUsed > grace
            let named = catalog.isNamed(entry.key) || referencedDigests.contains(entry.sha256)
            guard idle, !(entry.immutable && named) else { return true }
            cache.remove(entry.key)
            removedDigests.insert(entry.sha256)
            report.unreferencedRemoved += 1
            return false
        }

        if let limit = configuration.maxSize {
            var sizes: [SHA256Digest: UInt64] = [:]
            for entry in entries { sizes[entry.sha256] = entry.size }
            var total = sizes.values.reduce(0, +)
            var users: [SHA256Digest: Int] = [:]
            for entry in entries { users[entry.sha256, default: 0] += 1 }
            var kept: [CacheEntry] = []
            for entry in entries.sorted(by: { $0.lastUsed < $1.lastUsed }) {
                guard total > limit else {
                    kept.append(entry)
                    continue
                }
                cache.remove(entry.key)
                report.trimmedRemoved += 1
                removedDigests.insert(entry.sha256)
                users[entry.sha256, default: 1] -= 1
                if users[entry.sha256] == 0 { total -= entry.size }
            }
            entries = kept
        }

        let live = Set(entries.map(\.sha256))
        let blobDirectory = "\(cache.root)/blobs/sha256"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: blobDirectory)) ?? [] {
            guard let digest = try? SHA256Digest(hex: name), !live.contains(digest) else { continue }
            let path = "\(blobDirectory)/\(name)"
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let age = now - Double(st.st_mtim.tv_sec)
            guard removedDigests.contains(digest) || age > 3600 else { continue }
            if unlink(path) == 0 {
                report.blobsDeleted += 1
                report.bytesFreed += UInt64(st.st_size)
            }
        }
        report.entriesKept = entries.count
        var keptSizes: [SHA256Digest: UInt64] = [:]
        for entry in entries { keptSizes[entry.sha256] = entry.size }
        report.bytesKept = keptSizes.values.reduce(0, +)

        let tmp = "\(cache.root)/tmp"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] {
            var st = stat()
            let path = "\(tmp)/\(name)"
            guard lstat(path, &st) == 0 else { continue }
            if allTemporaries || now - Double(st.st_mtim.tv_sec) > 86_400, unlink(path) == 0 {
                report.temporariesDeleted += 1
            }
        }
        cache.flushUse()
        return report
    }
}
