// The lockfile: every package of a resolved template pinned by name, version, architecture,
// SHA-256 and size, with the repository it came from, plus the digests and dates of the indexes
// the resolution saw and the digest of the template configuration. JSON with sorted keys and
// sorted arrays, so the same inputs give the same bytes. Documented in docs/lockfile.md.
import Foundation
import StrataCore

public struct Lockfile: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public struct Package: Codable, Sendable, Equatable, Hashable {
        public var name: String
        public var version: String
        public var architecture: String
        public var repository: String
        /// Relative to the repository's URL: `pool/main/a/apt/apt_2.6.1_amd64.deb`.
        public var path: String
        public var sha256: SHA256Digest
        public var size: UInt64

        public init(
            name: String, version: String, architecture: String, repository: String, path: String,
            sha256: SHA256Digest, size: UInt64
        ) {
            self.name = name
            self.version = version
            self.architecture = architecture
            self.repository = repository
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    public struct Index: Codable, Sendable, Equatable {
        /// Relative to the repository's URL: `dists/bookworm/main/binary-amd64/Packages.xz`.
        public var path: String
        public var sha256: SHA256Digest
        public var size: UInt64?

        public init(path: String, sha256: SHA256Digest, size: UInt64?) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    public struct Repository: Codable, Sendable, Equatable {
        public var name: String
        public var url: String
        public var suite: String?
        /// The signed index (InRelease, Release, repomd.xml) as fetched.
        public var release: Index
        /// The date the signed index states, ISO 8601 (UTC).
        public var date: String?
        public var indexes: [Index]

        public init(name: String, url: String, suite: String?, release: Index, date: String?, indexes: [Index]) {
            self.name = name
            self.url = url
            self.suite = suite
            self.release = release
            self.date = date
            self.indexes = indexes
        }
    }

    public var lockfileVersion: Int
    public var target: String
    public var set: String
    public var family: PackageFamily
    public var architecture: String
    public var configDigest: SHA256Digest
    public var repositories: [Repository]
    public var packages: [Package]
    /// The dummies the resolution used (absent when none).
    public var dummies: [DummyPackage]?
    /// The order the packages are installed in, by name, dependencies first, as libsolv's
    /// transaction orders them (rpm: the order scriptlets run in); absent for Debian, where dpkg
    /// orders the configuration itself.
    public var installOrder: [String]?

    public init(
        lockfileVersion: Int, target: String, set: String, family: PackageFamily, architecture: String,
        configDigest: SHA256Digest, repositories: [Repository], packages: [Package], dummies: [DummyPackage]? = nil
    ) {
        self.lockfileVersion = lockfileVersion
        self.target = target
        self.set = set
        self.family = family
        self.architecture = architecture
        self.configDigest = configDigest
        self.repositories = repositories
        self.packages = packages
        self.dummies = dummies
    }

    /// The canonical bytes: pretty-printed, sorted keys, trailing newline.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// Reads a lockfile.
    /// - Throws: ``StrataError`` `.invalidInput` naming the file for malformed JSON or an unknown version.
    public static func read(_ path: String) throws -> Lockfile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StrataError(.notFound, "\(path): cannot read the lockfile")
        }
        return try decode(Array(data), what: path)
    }

    /// A lockfile from its bytes; `what` names them in errors.
    public static func decode(_ bytes: [UInt8], what: String) throws -> Lockfile {
        let lock = try StrataError.decodeJSON(Lockfile.self, from: Data(bytes), what: "\(what): not a strata lockfile")
        guard lock.lockfileVersion == currentVersion else {
            throw StrataError(.invalidInput, "\(what): lockfile version \(lock.lockfileVersion); this strata reads \(currentVersion)")
        }
        return lock
    }
}

extension Lockfile {
    /// What changed from `old` to `self`: `+ name version`, `- name`, `~ name old -> new`, and the
    /// configuration and index changes, one line each; empty when nothing did.
    public func changes(since old: Lockfile) -> [String] {
        var lines = [String]()
        if old.configDigest != configDigest { lines.append("! template configuration changed") }
        let oldIndexes = Dictionary(old.repositories.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for repo in repositories {
            guard let before = oldIndexes[repo.name] else {
                lines.append("! repository \(repo.name) added")
                continue
            }
            if before.indexes.map(\.sha256) != repo.indexes.map(\.sha256) {
                lines.append("! repository \(repo.name): index changed (\(before.date ?? "?") -> \(repo.date ?? "?"))")
            }
        }
        for name in Set(oldIndexes.keys).subtracting(repositories.map(\.name)).sorted() {
            lines.append("! repository \(name) removed")
        }
        let before = Dictionary(old.packages.map { ("\($0.name):\($0.architecture)", $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(packages.map { ("\($0.name):\($0.architecture)", $0) }, uniquingKeysWith: { a, _ in a })
        for key in Set(before.keys).union(after.keys).sorted() {
            switch (before[key], after[key]) {
            case (nil, let new?): lines.append("+ \(new.name) \(new.version)")
            case (let gone?, nil): lines.append("- \(gone.name)")
            case (let a?, let b?) where a.version != b.version: lines.append("~ \(a.name) \(a.version) -> \(b.version)")
            case (let a?, let b?) where a.sha256 != b.sha256:
                lines.append("~ \(a.name) \(a.version): sha256 \(a.sha256.hex.prefix(12))… -> \(b.sha256.hex.prefix(12))…")
            default: break
            }
        }
        return lines
    }
}
