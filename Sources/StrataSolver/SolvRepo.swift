// Repositories inside a pool: loaded from index text (Debian `Packages`, rpm-md `primary.xml`)
// or from libsolv's own `.solv` cache files, which load about fifteen times faster.
import CSolv
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
    public func write(toSolvFile path: String) throws {
        let temp = "\(path).tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
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
