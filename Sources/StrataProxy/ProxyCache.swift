// The proxy's cache on disk and in memory.
//
//   <cache>/blobs/sha256/<hex>          content, shared layout with the build store (BlobStore)
//   <cache>/tmp/                        downloads in progress; renamed into blobs/ when verified
//   <cache>/proxy/entries/<sha256(key)> one JSON record per cached URL key (`backend/path`)
//   <cache>/proxy/lock                  held (flock) by the running server
//
// A record is written only after its blob is flushed and in place, with an atomic rename, so a
// crash leaves the old record, the new one, or (records are not flushed) a torn one that is
// dropped at the next start; a record never names an incomplete blob. A record whose blob has
// gone (removed by `strata proxy clean` while the server ran) is a miss, never an error.
import Foundation
import StrataCore
import StrataStore
import Synchronization

/// One cached file.
public struct CacheEntry: Codable, Sendable, Equatable {
    /// `backend/path`.
    public var key: String
    /// The upstream URL it came from last.
    public var url: String
    public var sha256: SHA256Digest
    public var size: UInt64
    public var contentType: String?
    /// The upstream's validators, sent back when an index is revalidated.
    public var lastModified: String?
    public var etag: String?
    /// When the content was last fetched or confirmed unchanged (seconds since 1970).
    public var validated: Double
    /// When a client last got it (seconds since 1970); kept in memory, written by `clean` and at exit.
    public var lastUsed: Double
    public var immutable: Bool
    /// The upstream's `Content-Encoding` (other than identity): the cached bytes are the coded
    /// body, and clients get the header with them. Records written before it have none.
    public var contentEncoding: String? = nil

    /// The validator clients see: the content hash, strong.
    var clientETag: String { "\"\(sha256.hex)\"" }
}

/// The cache records, the blob store and the remembered 404s.
public final class ProxyCache: Sendable {
    public let root: String
    public let blobs: BlobStore
    let entriesDirectory: String

    /// Keyed by the exact bytes of `backend/path` (ExactString.swift).
    private struct State {
        var entries: [ExactString: CacheEntry] = [:]
        var notFound: [ExactString: ContinuousClock.Instant] = [:]
        /// When expired 404s are next dropped (and the map rebuilt, so that it shrinks).
        var nextNotFoundSweep = ContinuousClock.now
        var dirtyUse: Set<ExactString> = []
    }
    /// Remembered 404s at most; past it the oldest half goes (a flood of distinct misses costs
    /// memory only up to here).
    static let notFoundCapacity = 10_000
    private let state = Mutex(State())

    /// Opens (creating) the cache under `root` and loads every record.
    /// - Throws: ``StrataError`` `.io` when the directories cannot be made.
    public init(root: String) throws {
        self.root = root
        blobs = try BlobStore(root: root)
        entriesDirectory = "\(root)/proxy/entries"
        try FileSystem.makeDirectories(entriesDirectory)
        var loaded: [ExactString: CacheEntry] = [:]
        let decoder = JSONDecoder()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: entriesDirectory)) ?? [] {
            let path = "\(entriesDirectory)/\(name)"
            guard let data = FileManager.default.contents(atPath: path),
                let entry = try? decoder.decode(CacheEntry.self, from: data),
                Self.fileName(for: entry.key) == name
            else {
                // A torn or foreign file: it names nothing usable.
                unlink(path)
                continue
            }
            // Classified again: a record written under an older rule (files under dists/ were
            // once immutable by their suffix) follows the current one.
            var reclassified = entry
            if let slash = entry.key.utf8.firstIndex(of: UInt8(ascii: "/")) {
                let path = String(decoding: entry.key.utf8[entry.key.utf8.index(after: slash)...], as: UTF8.self)
                reclassified.immutable = RequestRouter.classify(path) == .immutable
            }
            loaded[ExactString(entry.key)] = reclassified
        }
        state.withLock { $0.entries = loaded }
    }

    /// Whether `root` holds a proxy cache (`blobs/sha256/` or `proxy/entries/`), for commands
    /// such as `strata proxy clean` that must not create one where none is.
    public static func exists(at root: String) -> Bool {
        var isDirectory: ObjCBool = false
        return ["blobs/sha256", "proxy/entries"].contains { name in
            FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    static func fileName(for key: String) -> String { SHA256Digest.of(Array(key.utf8)).hex }

    /// The record for `key`, if cached and its blob is still there.
    public func entry(_ key: String) -> CacheEntry? { state.withLock { $0.entries[ExactString(key)] } }

    /// Every record (a copy).
    public var allEntries: [CacheEntry] { state.withLock { Array($0.entries.values) } }

    public var count: Int { state.withLock { $0.entries.count } }

    /// Marks `key` used now (cheap; written to disk by ``flushUse()``).
    func markUsed(_ key: String, at now: Double) {
        let key = ExactString(key)
        state.withLock { state in
            guard var entry = state.entries[key], now - entry.lastUsed >= 1 else { return }
            entry.lastUsed = now
            state.entries[key] = entry
            state.dirtyUse.insert(key)
        }
    }

    /// Writes the record, then makes it visible. The record is not flushed to disk: a crash may
    /// lose it or leave it torn (then it is dropped at the next start and the file fetched again);
    /// the blob it names was flushed before.
    /// - Throws: ``StrataError`` `.io` (the file system is full, say); the previous record stays.
    public func store(_ entry: CacheEntry) throws {
        let data = try JSONEncoder().encode(entry)
        try FileSystem.writeAtomically(
            Array(data), to: "\(entriesDirectory)/\(Self.fileName(for: entry.key))", durable: false)
        let key = ExactString(entry.key)
        state.withLock { state in
            state.entries[key] = entry
            state.notFound[key] = nil
            state.dirtyUse.remove(key)
        }
    }

    /// Forgets `key` (its blob stays until `clean` finds nothing names it).
    public func remove(_ key: String) {
        unlink("\(entriesDirectory)/\(Self.fileName(for: key))")
        let key = ExactString(key)
        state.withLock { state in
            state.entries[key] = nil
            state.dirtyUse.remove(key)
        }
    }

    /// Remembers that upstream has no `key` until `until`.
    func rememberNotFound(_ key: String, until: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            if now >= state.nextNotFoundSweep || state.notFound.count >= Self.notFoundCapacity {
                // A new dictionary, not removals: a Swift dictionary keeps its capacity.
                var kept = state.notFound.filter { $0.value > now }
                if kept.count >= Self.notFoundCapacity {
                    kept = Dictionary(
                        uniqueKeysWithValues: kept.sorted { $0.value > $1.value }.prefix(Self.notFoundCapacity / 2).map { ($0.key, $0.value) })
                }
                state.notFound = kept
                state.nextNotFoundSweep = now + .seconds(30)
            }
            state.notFound[ExactString(key)] = until
        }
    }

    /// How many 404s are remembered (expired ones until the next sweep included).
    var notFoundCount: Int { state.withLock { $0.notFound.count } }

    /// Whether a recent upstream 404 for `key` still stands.
    func isKnownMissing(_ key: String, now: ContinuousClock.Instant) -> Bool {
        let key = ExactString(key)
        return state.withLock { state in
            guard let until = state.notFound[key] else { return false }
            if until > now { return true }
            state.notFound[key] = nil
            return false
        }
    }

    /// Writes the last-use times changed since the previous flush.
    public func flushUse() {
        let dirty: [CacheEntry] = state.withLock { state in
            defer { state.dirtyUse.removeAll() }
            return state.dirtyUse.compactMap { state.entries[$0] }
        }
        let encoder = JSONEncoder()
        for entry in dirty {
            guard let data = try? encoder.encode(entry) else { continue }
            try? FileSystem.writeAtomically(
                Array(data), to: "\(entriesDirectory)/\(Self.fileName(for: entry.key))", durable: false)
        }
    }

    /// Removes files left in `tmp/` by a process that died mid-download. Only for the lock holder.
    func removeLeftoverTemporaries() -> Int {
        let dir = "\(root)/tmp"
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where unlink("\(dir)/\(name)") == 0 {
            removed += 1
        }
        return removed
    }
}
