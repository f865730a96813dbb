// What an rpm package's header says, as plain values: its identity, every file with the metadata
// the installed file gets (the payload's own cpio metadata is not trusted; rpm never uses it),
// and every scriptlet and trigger it would run. Read from the package by ``RpmArchive``; the tag
// numbers and meanings are those of rpm's include/rpm/rpmtag.h and the "RPM Package Format"
// chapter of the LSB. Not kept: dependencies (the repository's primary.xml has them), file
// classes and colors, per-file signatures, the changelog.

/// The parts of a package header that composing a tree needs.
public struct RpmHeader: Sendable, Codable, Equatable {
    /// `NAME`.
    public var name: String
    /// `EPOCH`, `nil` when the header has none (which rpm compares as 0).
    public var epoch: Int?
    /// `VERSION`.
    public var version: String
    /// `RELEASE`.
    public var release: String
    /// `ARCH` (`x86_64`, `noarch`).
    public var architecture: String
    /// Every file the package owns, `%ghost`s included, in header order (sorted by path).
    public var files: [RpmFile]
    /// The install-, erase- and verify-time scriptlets, in the order `rpm -q --scripts` lists them.
    public var scriptlets: [RpmScriptlet]
    /// Classic triggers (`%triggerin -- other`), listed so a caller can refuse them.
    public var triggers: [RpmTrigger]
    /// File triggers (`%filetriggerin -- /usr/lib`, `%transfiletriggerin`).
    public var fileTriggers: [RpmFileTrigger]
    /// `LICENSE`, `VENDOR`, `URL` and `SOURCERPM`, for the template's SBOM (nil when absent).
    public var license: String?
    public var vendor: String?
    public var url: String?
    public var sourceRPM: String?

    /// Creates a header value.
    public init(
        name: String, epoch: Int?, version: String, release: String, architecture: String, files: [RpmFile],
        scriptlets: [RpmScriptlet], triggers: [RpmTrigger], fileTriggers: [RpmFileTrigger], license: String? = nil,
        vendor: String? = nil, url: String? = nil, sourceRPM: String? = nil
    ) {
        self.name = name
        self.epoch = epoch
        self.version = version
        self.release = release
        self.architecture = architecture
        self.files = files
        self.scriptlets = scriptlets
        self.triggers = triggers
        self.fileTriggers = fileTriggers
        self.license = license
        self.vendor = vendor
        self.url = url
        self.sourceRPM = sourceRPM
    }

    /// `name-[epoch:]version-release.architecture`, as rpm's `%{NEVRA}` prints it.
    public var nevra: String {
        "\(name)-\(epoch.map { "\($0):" } ?? "")\(version)-\(release).\(architecture)"
    }
}

/// One file of a package, with the metadata rpm gives it when installing.
public struct RpmFile: Sendable, Codable, Equatable {
    /// `FILEFLAGS`: how the file was listed in the spec's `%files`.
    public struct Flags: OptionSet, Sendable, Codable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// `%config`.
        public static let config = Flags(rawValue: 1 << 0)
        /// `%doc`.
        public static let doc = Flags(rawValue: 1 << 1)
        /// `%config(missingok)`.
        public static let missingOK = Flags(rawValue: 1 << 3)
        /// `%config(noreplace)`.
        public static let noReplace = Flags(rawValue: 1 << 4)
        /// `%ghost`: owned, but not in the payload.
        public static let ghost = Flags(rawValue: 1 << 6)
        /// `%license`.
        public static let license = Flags(rawValue: 1 << 7)
        /// `%readme`.
        public static let readme = Flags(rawValue: 1 << 8)
        /// `%pubkey`.
        public static let pubkey = Flags(rawValue: 1 << 11)
        /// `%artifact` (build-id links and the like).
        public static let artifact = Flags(rawValue: 1 << 12)
    }

    /// A file content digest as the header records it.
    public struct Digest: Sendable, Codable, Hashable {
        /// `FILEDIGESTALGO`, an OpenPGP hash algorithm number (RFC 4880 9.4).
        public enum Algorithm: String, Sendable, Codable, Hashable {
            case md5, sha1, ripemd160, sha224, sha256, sha384, sha512

            /// The algorithm for an OpenPGP hash algorithm number, `nil` for one rpm does not use.
            public init?(pgpNumber: Int) {
                switch pgpNumber {
                case 1: self = .md5
                case 2: self = .sha1
                case 3: self = .ripemd160
                case 8: self = .sha256
                case 9: self = .sha384
                case 10: self = .sha512
                case 11: self = .sha224
                default: return nil
                }
            }
        }

        /// The algorithm.
        public var algorithm: Algorithm
        /// The digest, lower-case hex.
        public var hex: String

        /// Creates a digest.
        public init(algorithm: Algorithm, hex: String) {
            self.algorithm = algorithm
            self.hex = hex
        }
    }

    /// The absolute path (`/usr/bin/env`; `/` itself for a package owning the root).
    public var path: String
    /// `FILEMODES`: the full `st_mode`, file-type bits included.
    public var mode: UInt32
    /// `FILEUSERNAME`: the owner by name; the number comes from the tree's passwd.
    public var user: String
    /// `FILEGROUPNAME`: the group by name.
    public var group: String
    /// `FILEMTIMES`, seconds since the epoch.
    public var mtime: Int64
    /// `FILESIZES` (or `LONGFILESIZES`): a regular file's length, a symlink target's length.
    public var size: UInt64
    /// `FILEFLAGS`.
    public var flags: Flags
    /// `FILELINKTOS`: a symbolic link's target; `nil` for every other type.
    public var linkTarget: String?
    /// `FILEINODES`: files sharing an inode (and device) are hard links to each other.
    public var inode: UInt32
    /// `FILERDEVS`: a device file's device number (Linux's old 16-bit encoding); 0 otherwise.
    public var rdev: UInt32
    /// `FILEDIGESTS` with `FILEDIGESTALGO`: a regular file's content digest.
    public var digest: Digest?
    /// `FILECAPS`: file capabilities in libcap's text form as rpm prints it (`cap_net_raw=ep`).
    public var capabilities: String?
    /// `FILELANGS`: the file's language (`de`), `nil` for every language.
    public var lang: String?

    /// Creates a file value.
    public init(
        path: String, mode: UInt32, user: String, group: String, mtime: Int64, size: UInt64, flags: Flags,
        linkTarget: String?, inode: UInt32, rdev: UInt32 = 0, digest: Digest?, capabilities: String?,
        lang: String?
    ) {
        self.path = path
        self.mode = mode
        self.user = user
        self.group = group
        self.mtime = mtime
        self.size = size
        self.flags = flags
        self.linkTarget = linkTarget
        self.inode = inode
        self.rdev = rdev
        self.digest = digest
        self.capabilities = capabilities
        self.lang = lang
    }
}

/// How rpm treats a scriptlet's body before running it (`RPMSCRIPT_FLAG_*`, rpm's lib/rpmscript.h).
public struct RpmScriptletFlags: OptionSet, Sendable, Codable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `-e`: macros in the body are expanded at install time.
    public static let expand = RpmScriptletFlags(rawValue: 1 << 0)
    /// `-q`: the body is a query format expanded against the header at install time.
    public static let queryFormat = RpmScriptletFlags(rawValue: 1 << 1)
    /// The scriptlet's failure fails the transaction element (rpm sets this for `%pre`).
    public static let critical = RpmScriptletFlags(rawValue: 1 << 2)
}

/// One of the package's own scriptlets (`%pre`, `%post`, …).
public struct RpmScriptlet: Sendable, Codable, Equatable {
    /// When the scriptlet runs; raw values are the words `rpm -q --scripts` uses for them.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case pretrans
        case pre = "preinstall"
        case post = "postinstall"
        case preun = "preuninstall"
        case postun = "postuninstall"
        case posttrans
        case preuntrans
        case postuntrans
        case verify
    }

    /// When it runs.
    public var kind: Kind
    /// The interpreter and its arguments (`["/bin/sh"]`, `["<lua>"]`, `["/sbin/ldconfig"]`).
    public var interpreter: [String]
    /// The script text; `nil` for `%post -p /sbin/ldconfig`, which runs the program alone.
    public var body: String?
    /// How rpm prepares the body.
    public var flags: RpmScriptletFlags

    /// Creates a scriptlet value.
    public init(kind: Kind, interpreter: [String], body: String?, flags: RpmScriptletFlags = []) {
        self.kind = kind
        self.interpreter = interpreter
        self.body = body
        self.flags = flags
    }
}

/// A classic trigger: a script run when another package is installed or erased.
public struct RpmTrigger: Sendable, Codable, Equatable {
    /// When it fires, as `rpm -q --triggers` names it.
    public enum Kind: String, Sendable, Codable {
        case prein = "triggerprein"
        case `in` = "triggerin"
        case un = "triggerun"
        case postun = "triggerpostun"
    }

    /// A package it fires on (`other`, `other >= 1.2`).
    public struct Condition: Sendable, Codable, Equatable {
        /// The package name.
        public var name: String
        /// `<`, `<=`, `=`, `>=` or `>`, `nil` for any version.
        public var relation: String?
        /// The version compared with, `nil` for any version.
        public var version: String?

        /// Creates a condition.
        public init(name: String, relation: String? = nil, version: String? = nil) {
            self.name = name
            self.relation = relation
            self.version = version
        }
    }

    /// When it fires.
    public var kind: Kind
    /// The packages it fires on.
    public var conditions: [Condition]
    /// The interpreter (triggers take no interpreter arguments).
    public var interpreter: [String]
    /// The script text.
    public var body: String?
    /// How rpm prepares the body.
    public var flags: RpmScriptletFlags

    /// Creates a trigger value.
    public init(
        kind: Kind, conditions: [Condition], interpreter: [String], body: String?, flags: RpmScriptletFlags = []
    ) {
        self.kind = kind
        self.conditions = conditions
        self.interpreter = interpreter
        self.body = body
        self.flags = flags
    }
}

/// A file trigger: a script run when files under given prefixes are installed or erased, by
/// any package (`%filetriggerin`) or once per transaction (`%transfiletriggerin`).
public struct RpmFileTrigger: Sendable, Codable, Equatable {
    /// When it fires, as `rpm -q --filetriggers` names it.
    public enum Kind: String, Sendable, Codable {
        case filetriggerin, filetriggerun, filetriggerpostun
        case transfiletriggerin, transfiletriggerun, transfiletriggerpostun

        /// Whether it runs once per transaction (and is handed every matching path on stdin)
        /// rather than once per package that installs or erases matching files.
        public var isTransaction: Bool { rawValue.hasPrefix("trans") }
    }

    /// When it fires.
    public var kind: Kind
    /// The path prefixes that fire it (`/usr/lib`).
    public var prefixes: [String]
    /// The interpreter (triggers take no interpreter arguments).
    public var interpreter: [String]
    /// The script text.
    public var body: String?
    /// The priority: among triggers firing together, higher ones run first (rpm's default 1000000).
    public var priority: Int
    /// How rpm prepares the body.
    public var flags: RpmScriptletFlags

    /// Creates a file trigger value.
    public init(
        kind: Kind, prefixes: [String], interpreter: [String], body: String?, priority: Int,
        flags: RpmScriptletFlags = []
    ) {
        self.kind = kind
        self.prefixes = prefixes
        self.interpreter = interpreter
        self.body = body
        self.priority = priority
        self.flags = flags
    }
}
