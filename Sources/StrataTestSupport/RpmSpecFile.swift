// One entry of a fixture rpm's `%files` list, with what rpmbuild needs to put it there: the thing
// to stage in the build root (bytes, a host file, a directory, a symlink, a hardlink made in
// %install) and the `%files` directives in front of its path (`%attr`, `%caps`, `%config`,
// `%ghost`, `%doc`, `%dir`). See rpm's spec.md ("The %files section") for what each one means.
// Not supported: `%defattr`, `%verify`, `%lang`, globs and paths with spaces.
import Foundation

/// A path in a fixture rpm, what it is, and how `%files` lists it.
public struct RpmSpecFile: Sendable, Hashable {
    /// What is staged at the path before rpmbuild collects it.
    public enum Content: Sendable, Hashable {
        /// A regular file with these bytes.
        case bytes(Data)
        /// A regular file copied from the host at build time (symlinks followed); its mode is the
        /// host file's unless ``RpmSpecFile/mode`` is set.
        case hostFile(String)
        /// A directory, listed with `%dir` (the package owns the directory, not what is in it).
        case directory
        /// A symbolic link with this target, verbatim (`busybox`, `usr/bin`, `/etc/alternatives/x`).
        case symlink(String)
        /// A hard link to another regular file of the same package, made with `ln` in `%install`.
        case hardlink(to: String)
    }

    /// A `%files` directive other than `%attr`, `%caps` and `%dir`.
    public enum Directive: String, Sendable, Hashable, CaseIterable, Comparable {
        /// `%config`: a configuration file (an edited copy is kept as `.rpmsave` on removal).
        case config = "%config"
        /// `%config(noreplace)`: on upgrade, an edited file is kept and the new one is `.rpmnew`.
        case configNoReplace = "%config(noreplace)"
        /// `%config(missingok)`: a removed file is not an error on verify.
        case configMissingOK = "%config(missingok)"
        /// `%doc`: documentation, left out with `--nodocs` / `tsflags=nodocs`.
        case doc = "%doc"
        /// `%license`: a license file (installed even with `--nodocs`).
        case license = "%license"
        /// `%ghost`: owned and listed in the header but not in the payload, so never created by rpm.
        case ghost = "%ghost"

        public static func < (lhs: Directive, rhs: Directive) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The absolute path inside the installed tree.
    public var path: String
    /// What is staged there.
    public var content: Content
    /// Permission bits for `%attr` (`0o640`, `0o4755`); the staged file's own mode when `nil`.
    public var mode: UInt16?
    /// The owner name for `%attr`; `root` when `nil`. Resolved against the *installed tree's*
    /// `/etc/passwd` at install time.
    public var user: String?
    /// The group name for `%attr`; `root` when `nil`.
    public var group: String?
    /// The text of `%caps(...)` (`cap_net_raw=ep`), as `cap_from_text(3)` reads it.
    public var capabilities: String?
    /// Further directives, emitted in a fixed order.
    public var directives: Set<Directive>

    /// Creates an entry; the static constructors below read better at call sites.
    public init(
        path: String, content: Content, mode: UInt16? = nil, user: String? = nil, group: String? = nil,
        capabilities: String? = nil, directives: Set<Directive> = []
    ) {
        self.path = path
        self.content = content
        self.mode = mode
        self.user = user
        self.group = group
        self.capabilities = capabilities
        self.directives = directives
    }

    /// A regular file holding `text` (UTF-8).
    public static func file(
        _ path: String, _ text: String, mode: UInt16? = nil, user: String? = nil, group: String? = nil,
        capabilities: String? = nil, directives: Set<Directive> = []
    ) -> RpmSpecFile {
        RpmSpecFile(
            path: path, content: .bytes(Data(text.utf8)), mode: mode, user: user, group: group,
            capabilities: capabilities, directives: directives)
    }

    /// A regular file holding `bytes`.
    public static func binary(
        _ path: String, _ bytes: Data, mode: UInt16? = nil, user: String? = nil, group: String? = nil,
        capabilities: String? = nil, directives: Set<Directive> = []
    ) -> RpmSpecFile {
        RpmSpecFile(
            path: path, content: .bytes(bytes), mode: mode, user: user, group: group,
            capabilities: capabilities, directives: directives)
    }

    /// A copy of the host file `source` (read when the repository is built) at `path`.
    public static func copy(
        of source: String, to path: String, mode: UInt16? = nil, directives: Set<Directive> = []
    ) -> RpmSpecFile {
        RpmSpecFile(path: path, content: .hostFile(source), mode: mode, directives: directives)
    }

    /// A directory the package owns (`%dir`).
    public static func directory(
        _ path: String, mode: UInt16? = nil, user: String? = nil, group: String? = nil,
        directives: Set<Directive> = []
    ) -> RpmSpecFile {
        RpmSpecFile(path: path, content: .directory, mode: mode, user: user, group: group, directives: directives)
    }

    /// A symbolic link at `path` pointing at `target`.
    public static func symlink(_ path: String, to target: String) -> RpmSpecFile {
        RpmSpecFile(path: path, content: .symlink(target))
    }

    /// A second name for the regular file `target` of the same package (one inode, two paths).
    public static func hardlink(_ path: String, to target: String) -> RpmSpecFile {
        RpmSpecFile(path: path, content: .hardlink(to: target))
    }

    /// The `%files` line: directives, then the path.
    var filesLine: String {
        var words: [String] = []
        if mode != nil || user != nil || group != nil {
            let modeText = mode.map { String(format: "%04o", $0) } ?? "-"
            words.append("%attr(\(modeText),\(user ?? "root"),\(group ?? "root"))")
        }
        if let capabilities { words.append("%caps(\(capabilities))") }
        words += directives.sorted().map(\.rawValue)
        if content == .directory { words.append("%dir") }
        words.append(path)
        return words.joined(separator: " ")
    }
}
