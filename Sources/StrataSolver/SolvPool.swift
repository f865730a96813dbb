// A Swift owner for a libsolv `Pool`: the universe of packages one resolution sees.
//
// One pool per packager family (DISTTYPE_DEB or DISTTYPE_RPM; Debian's libsolv is built with
// multi-semantics, so both work in one process), one architecture plus `all`/`noarch`.
// libsolv is not thread-safe: a pool and everything reached from it stays on one thread.
import CSolv
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// A package in a pool, by libsolv's id.
public struct SolvableID: Hashable, Comparable, Sendable {
    public let raw: Int32
    public static func < (lhs: SolvableID, rhs: SolvableID) -> Bool { lhs.raw < rhs.raw }
}

/// A dependency (a name, or a relation such as `libc6 (>= 2.36)`), by libsolv's id.
public struct DependencyID: Hashable, Sendable {
    public let raw: Int32
}

public final class SolvPool {
    let pool: UnsafeMutablePointer<Pool>
    public let family: PackageFamily
    public let architecture: Architecture
    private(set) var repos: [SolvRepo] = []
    private var whatProvidesReady = false

    /// - Throws: ``StrataError`` `.internalError` when libsolv lacks the family's semantics.
    public init(family: PackageFamily, architecture: Architecture) throws {
        guard let pool = pool_create() else { throw StrataError.internalError("pool_create failed") }
        self.pool = pool
        self.family = family
        self.architecture = architecture
        let distType = family == .deb ? DISTTYPE_DEB : DISTTYPE_RPM
        guard pool_setdisttype(pool, Int32(distType)) >= 0 else {
            pool_free(pool)
            throw StrataError.internalError("this libsolv cannot handle \(family) packages (built without multi-semantics)")
        }
        pool_setarch(pool, family == .deb ? architecture.debian : architecture.rpm)
    }

    deinit { pool_free(pool) }

    /// A new, empty repository in this pool.
    public func makeRepo(name: String) -> SolvRepo {
        whatProvidesReady = false
        let repo = SolvRepo(pool: self, handle: repo_create(pool, name), name: name)
        repos.append(repo)
        return repo
    }

    /// Makes `repo` the installed repository (a layer's base), or none. libsolv drops its
    /// provides index when this changes; it is built again before the next query.
    public func setInstalled(_ repo: SolvRepo?) {
        guard pool.pointee.installed != repo?.handle else { return }
        pool_set_installed(pool, repo?.handle)
        whatProvidesReady = false
    }

    /// Builds libsolv's provides index; needed before queries and solving.
    func prepare() {
        guard !whatProvidesReady else { return }
        pool_addfileprovides(pool)
        pool_createwhatprovides(pool)
        whatProvidesReady = true
    }

    // MARK: Interned strings

    /// The id of `string`, creating it.
    public func intern(_ string: String) -> Int32 { pool_str2id(pool, string, 1) }

    func string(_ id: Int32) -> String { String(cString: pool_id2str(pool, id)) }

    // MARK: Solvables

    func solvable(_ id: SolvableID) -> UnsafeMutablePointer<Solvable> { pool.pointee.solvables + Int(id.raw) }

    public func name(of id: SolvableID) -> String { string(solvable(id).pointee.name) }
    public func version(of id: SolvableID) -> String { string(solvable(id).pointee.evr) }
    public func arch(of id: SolvableID) -> String { string(solvable(id).pointee.arch) }
    public func repoName(of id: SolvableID) -> String {
        String(cString: solvable(id).pointee.repo.pointee.name)
    }
    /// `name=version.arch`, as in messages.
    public func describe(_ id: SolvableID) -> String {
        "\(name(of: id)) \(version(of: id)) (\(arch(of: id)))"
    }

    /// The repository-relative path of the package file (`pool/main/a/apt/apt_2.6.1_amd64.deb`).
    public func location(of id: SolvableID) -> String? {
        var medianr: UInt32 = 0
        return solvable_lookup_location(solvable(id), &medianr).map { String(cString: $0) }
    }

    /// The package file's checksum as the index states it, with its type (`sha256`).
    public func checksum(of id: SolvableID) -> (type: String, hex: String)? {
        var type: Id = 0
        guard let hex = solvable_lookup_checksum(solvable(id), Id(SOLVABLE_CHECKSUM.rawValue), &type) else {
            return nil
        }
        return (String(cString: solv_chksum_type2str(type)), String(cString: hex))
    }

    /// The package file's size, when the index states it.
    public func downloadSize(of id: SolvableID) -> UInt64? {
        let size = solvable_lookup_num(solvable(id), Id(SOLVABLE_DOWNLOADSIZE.rawValue), UInt64.max)
        return size == UInt64.max ? nil : size
    }

    /// A string attribute strata stored on the solvable (``SolvRepo/setAttribute(_:key:value:)``).
    public func attribute(_ key: String, of id: SolvableID) -> String? {
        let keyID = pool_str2id(pool, key, 0)
        guard keyID != 0 else { return nil }
        return solvable_lookup_str(solvable(id), keyID).map { String(cString: $0) }
    }

    /// Every solvable of every repository (not the system solvable).
    public var allSolvables: [SolvableID] {
        var out = [SolvableID]()
        for repo in repos { out.append(contentsOf: repo.solvables) }
        return out
    }

    /// Whether the solvable is installable on this pool's architecture.
    public func isInstallable(_ id: SolvableID) -> Bool {
        let s = solvable(id)
        let arch = s.pointee.arch
        if arch == Id(ARCH_SRC.rawValue) || arch == Id(ARCH_NOSRC.rawValue) { return false }
        guard let id2arch = pool.pointee.id2arch, arch > 0, UInt32(arch) <= pool.pointee.lastarch else {
            return false
        }
        return id2arch[Int(arch)] != 0
    }

    /// Compares two versions with the family's rules (dpkg's or rpm's).
    public func compareVersions(_ a: String, _ b: String) -> Int {
        Int(pool_evrcmp_str(pool, a, b, Int32(EVRCMP_COMPARE)))
    }
}

@available(*, unavailable) extension SolvPool: Sendable {}
