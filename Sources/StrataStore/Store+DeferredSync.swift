// Deferred flushing: a writer that adds thousands of objects (an import, a commit's check-in)
// flushes them with one syncfs(2) instead of one fsync(2) each (importing debian/12 minbase: about
// 2–3 s of its 7 s on this machine). What keeps the store consistent when the machine goes down:
//
// - Only content-named files are written unflushed: objects, trees, package records. What makes
//   them reachable (`packages/` entries) is queued and written, flushed, after the syncfs; refs
//   and commits are the caller's to write after the batch.
// - Before the first unflushed write, `<root>/unsynced` records the boot (the kernel's boot_id)
//   and is flushed; it is removed after the syncfs.
// - A writer that finds `unsynced` left behind (under the writer lock, so its writer is gone):
//   the same boot means only the process died and the kernel still has every write: one syncfs,
//   and it goes on. Another boot means the machine went down with writes unflushed: every object,
//   tree and record whose inode changed since the marker was written is read again, and those
//   whose bytes no longer match their name are removed before anything reuses them.
//
// As another user than root, objects cannot carry their owner, so a torn one could not be told
// from a whole one: such stores keep one fsync per file.
import CStrataShim
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// The package entries a deferred batch writes once its files are on disk, and whether it wrote
/// anything unflushed (a batch that found every object already there flushes nothing).
final class DeferredEntries: @unchecked Sendable {
    // @unchecked: `wrote` is only read and written under `lock`.
    let pending = LockedBox([(blob: SHA256Digest, tree: SHA256Digest)]())
    private let lock = NSLock()
    private var wrote = false

    /// Runs `writeMarker` before the batch's first unflushed write; every writer waits for it.
    func beforeFirstWrite(_ writeMarker: () throws -> Void) throws {
        try lock.withLock {
            guard !wrote else { return }
            try writeMarker()
            wrote = true
        }
    }

    var wroteAnything: Bool { lock.withLock { wrote } }
}

/// What a writer left unflushed when it stopped: its boot and when it began.
struct UnsyncedMarker: Codable {
    var bootID: String
    var started: Int64

    static var currentBootID: String {
        let text = (try? FileReader.readAll("/proc/sys/kernel/random/boot_id")) ?? []
        return String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Store {
    var unsyncedMarkerPath: String { "\(root)/unsynced" }

    /// Whether this store writes objects, trees and records unflushed (inside a batch, as root).
    var defersSync: Bool { deferred != nil }

    /// Runs `body` with a store that writes objects, trees and package records without flushing
    /// each and queues package entries; then flushes the file system once and writes the entries.
    /// Call it holding the writer lock; not reentrant.
    /// - Throws: what `body` throws (the queued entries are then not written: the next import reads
    ///   those packages again), ``StrataError`` `.io` when the marker or the flush fails.
    public func withDeferredSync<T>(_ body: (Store) throws -> T) throws -> T {
        try recoverUnsynced()
        guard geteuid() == 0, deferred == nil else { return try body(self) }
        var batch = self
        let entries = DeferredEntries()
        batch.deferred = entries
        let result: T
        do {
            result = try body(batch)
        } catch {
            // What was written is whole (the process lives); it only needs flushing. No entry is
            // written: the packages are read again next time.
            if entries.wroteAnything, (try? syncFileSystem()) != nil { _ = try? FileSystem.remove(unsyncedMarkerPath) }
            throw error
        }
        // Nothing written unflushed (every object was there): what the entries name is on disk
        // already, flushed by the batch that wrote it or by recoverUnsynced above.
        let wrote = entries.wroteAnything
        if wrote { try syncFileSystem() }
        for (blob, tree) in entries.pending.get() { try setPackageTree(blob: blob, tree: tree) }
        if wrote { _ = try FileSystem.remove(unsyncedMarkerPath) }
        return result
    }

    /// Call before writing a file unflushed in a batch: the first one writes the marker
    /// (flushed) that says the store has unflushed writes, and when they began.
    func beforeUnflushedWrite() throws {
        try deferred?.beforeFirstWrite {
            let marker = UnsyncedMarker(bootID: UnsyncedMarker.currentBootID, started: Int64(time(nil)))
            try blobs.replace(unsyncedMarkerPath, with: Array(try JSONEncoder().encode(marker)), hint: "unsynced")
            FileSystem.syncDirectory(root)
        }
    }

    /// One syncfs(2) of the store's file system.
    func syncFileSystem() throws {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError("cannot open", root) }
        defer { close(fd) }
        guard strata_syncfs(fd) == 0 else { throw Self.ioError("cannot flush the file system of", root) }
    }

    /// Deals with a marker a writer left: see the top of this file. Call holding the writer lock.
    /// - Returns: the files removed as torn (store-relative paths).
    @discardableResult
    func recoverUnsynced() throws -> [String] {
        guard FileSystem.exists(unsyncedMarkerPath) else { return [] }
        let marker = try? JSONDecoder().decode(UnsyncedMarker.self, from: Data(FileReader.readAll(unsyncedMarkerPath)))
        try syncFileSystem()
        var removed = [String]()
        if marker?.bootID != UnsyncedMarker.currentBootID {
            // An unreadable marker was itself torn: everything is suspect.
            let since = (marker?.started ?? 0) - 1
            removed = try removeTorn(changedSince: since)
            try syncFileSystem()
            if !removed.isEmpty {
                Diagnostics.warning(
                    "the store's last writer stopped with the machine before its files were flushed; "
                        + "removed \(removed.count) torn files: \(removed.prefix(5).joined(separator: ", "))"
                        + (removed.count > 5 ? ", …" : ""))
            }
        }
        _ = try FileSystem.remove(unsyncedMarkerPath)
        return removed
    }

    /// Removes objects, trees and records changed (ctime) since `since` whose bytes do not match
    /// their names.
    private func removeTorn(changedSince since: Int64) throws -> [String] {
        var removed = [String]()
        func changed(_ path: String) -> Bool {
            guard let st = try? FileSystem.status(path) else { return false }
            return Int64(st.st_ctim.tv_sec) >= since
        }
        func remove(_ path: String) throws {
            _ = try FileSystem.remove(path)
            removed.append(relative(path))
        }
        for id in try objectIDs() {
            let path = objectPath(id)
            guard changed(path) else { continue }
            if (try? diskObjectID(path)) != id { try remove(path) }
        }
        for name in try FileSystem.names(in: treesDirectory) {
            let path = "\(treesDirectory)/\(name)"
            guard let id = Self.jsonName(name), changed(path) else { continue }
            if (try? SHA256Digest.of(file: path)) != id { try remove(path) }
        }
        for name in try FileSystem.names(in: recordsDirectory) {
            let path = "\(recordsDirectory)/\(name)"
            guard changed(path) else { continue }
            if (try? JSONSerialization.jsonObject(with: Data(FileReader.readAll(path)))) == nil { try remove(path) }
        }
        return removed
    }

    /// The id an object file's content and metadata give.
    private func diskObjectID(_ path: String) throws -> ObjectID {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError("cannot open", path) }
        defer { close(fd) }
        let metadata = try Self.readMetadata(fd: fd, path: path)
        return ObjectID(contentDigest: try SHA256Digest.of(file: path), metadata: metadata)
    }
}
