// Repositories inside a pool: loaded from index text (Debian `Packages`, rpm-md `primary.xml`)
// or from libsolv's own `.solv` cache files, which load about fifteen times faster.
import CSolv
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public final class SolvRepo {
    unowned let pool: SolvPool
    let handle: UnsafeMutablePointer<Repo>
    public let name: String

    init(pool: SolvPool, handle: UnsafeMutablePointer<Repo>, name: String) {
        self.pool = pool
        self.handle = handle
        self.name = name
    }

    /// The solvables of this repository, in the order they were added.
    public var solvables: [SolvableID] {
        let start = handle.pointee.start
        let end = handle.pointee.end
        var out = [SolvableID]()
        out.reserveCapacity(Int(end - start))
        var id = start
        while id < end {
            if (pool.pool.pointee.solvables + Int(id)).pointee.repo == handle { out.append(SolvableID(raw: id)) }
            id += 1
        }
        return out
    }

    /// Adds the stanzas of a Debian `Packages` (uncompressed) held in memory. Attributes may be
    /// added with ``setAttribute(_:key:value:)`` until ``internalize()`` is called.
    public func addDebianPackages(_ bytes: [UInt8], what: String) throws {
        try withFile(bytes) { fp in
            guard repo_add_debpackages(handle, fp, Int32(REPO_NO_INTERNALIZE)) == 0 else {
                throw StrataError(.invalidInput, "\(what): libsolv cannot read it: \(lastError)")
            }
        }
    }

    /// Adds the packages of an rpm-md `primary.xml` (uncompressed) held in memory.
    public func addRPMPrimary(_ bytes: [UInt8], what: String) throws {
        try withFile(bytes) { fp in
            guard repo_add_rpmmd(handle, fp, nil, Int32(REPO_NO_INTERNALIZE)) == 0 else {
                throw StrataError(.invalidInput, "\(what): libsolv cannot read it: \(lastError)")
            }
        }
    }

    /// Loads a `.solv` file written by ``write(toSolvFile:)``.
    public func addSolvFile(_ path: String) throws {
        guard let fp = fopen(path, "r") else { throw StrataError(.notFound, "cannot open \(path)") }
        defer { fclose(fp) }
        guard repo_add_solv(handle, fp, 0) == 0 else {
            throw StrataError(.invalidInput, "\(path): not a usable .solv file: \(lastError)")
        }
    }

    /// Sets a string attribute on a solvable (Debian `Priority`, `Essential`), kept in `.solv` files.
    public func setAttribute(_ id: SolvableID, key: String, value: String) {
        let data = repo_last_repodata(handle)
        repodata_set_str(data, id.raw, pool.intern(key), value)
    }

    /// Sets the download size of a solvable.
    public func setDownloadSize(_ id: SolvableID, _ size: UInt64) {
        let data = repo_last_repodata(handle)
        repodata_set_num(data, id.raw, Id(SOLVABLE_DOWNLOADSIZE.rawValue), size)
    }

    /// Finishes adding data; the repository is then read-only.
    public func internalize() { repo_internalize(handle) }

    /// Writes this repository as a `.solv` file, atomically (temporary name, then rename).
    /// - Parameter temporaryDirectory: where the file is written before it is renamed to `path`
    ///   (on the same file system: a store's `tmp/`, where a writer's leftovers are known).
    public func write(toSolvFile path: String, temporaryDirectory: String) throws {
        let temp = "\(temporaryDirectory)/solv.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        guard let fp = fopen(temp, "w") else { throw StrataError(.io, "cannot create \(temp)") }
        let rc = repo_write(handle, fp)
        let flushed = fflush(fp) == 0 && fsync(fileno(fp)) == 0
        fclose(fp)
        guard rc == 0, flushed, rename(temp, path) == 0 else {
            unlink(temp)
            throw StrataError(.io, "cannot write \(path)")
        }
    }

    private var lastError: String { String(cString: pool_errstr(pool.pool)) }

    private func withFile(_ bytes: [UInt8], _ body: (UnsafeMutablePointer<FILE>) throws -> Void) throws {
        if bytes.isEmpty { return }
        try bytes.withUnsafeBytes { raw in
            // fmemopen in "r" mode never writes to the buffer.
            guard let base = raw.baseAddress, let fp = fmemopen(UnsafeMutableRawPointer(mutating: base), raw.count, "r")
            else {
                throw StrataError(.io, "cannot open an in-memory index")
            }
            defer { fclose(fp) }
            try body(fp)
        }
    }
}

@available(*, unavailable) extension SolvRepo: Sendable {}

extension SolvRepo {
    /// Adds a package that exists only to satisfy dependencies (a template's dummy): its name and
    /// version, architecture `all`/`noarch`, and what it provides (`name` or `name (= version)`).
    @discardableResult
    public func addDummy(name: String, version: String, provides: [String]) -> SolvableID {
        let p = pool.pool
        let id = repo_add_solvable(handle)
        let s = p.pointee.solvables + Int(id)
        s.pointee.name = pool_str2id(p, name, 1)
        s.pointee.evr = pool_str2id(p, version, 1)
        s.pointee.arch = pool_str2id(p, pool.family == .deb ? "all" : "noarch", 1)
        s.pointee.provides = repo_addid_dep(
            handle, s.pointee.provides, pool_rel2id(p, s.pointee.name, s.pointee.evr, Int32(REL_EQ), 1), 0)
        for provide in provides {
            let parts = provide.split(separator: "(", maxSplits: 1)
            let providedName = pool_str2id(p, parts[0].trimmingCharacters(in: .whitespaces), 1)
            var dep = providedName
            if parts.count == 2 {
                let inner = parts[1].replacingOccurrences(of: ")", with: "").replacingOccurrences(of: "=", with: "")
                    .trimmingCharacters(in: .whitespaces)
                dep = pool_rel2id(p, providedName, pool_str2id(p, inner, 1), Int32(REL_EQ), 1)
            }
            s.pointee.provides = repo_addid_dep(handle, s.pointee.provides, dep, 0)
        }
        return SolvableID(raw: id)
    }

    /// Makes libsolv prefer this repository's packages over same-named ones elsewhere.
    public func setPriority(_ priority: Int32) { handle.pointee.priority = priority }
}
