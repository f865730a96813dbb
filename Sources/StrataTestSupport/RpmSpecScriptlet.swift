// Scripts a fixture rpm carries: scriptlets (`%pre`, `%post`, …) and file triggers
// (`%filetriggerin -- /usr/lib/x`, `%transfiletriggerin`, …). rpm runs them chrooted into the
// tree, with `/bin/sh` unless `-p <interpreter>` says otherwise (`-p <lua>` runs inside rpm
// itself); rpmbuild adds the interpreter to the package's requirements (`Requires(pre): /bin/sh`).
// The order rpm runs them in is in rpm's triggers.md and file_triggers.md. Classic package
// triggers (`%triggerin -- pkg`) are not supported.
import Foundation

/// A scriptlet: a phase of the install or removal and the script run in it.
public struct RpmSpecScriptlet: Sendable, Hashable {
    /// When rpm runs it. `$1` (Lua: `arg[2]`) is the number of instances of the package left
    /// after the operation: 1 for a first install, 0 for an erase.
    public enum Phase: String, Sendable, Hashable, CaseIterable, Comparable {
        /// Before anything of the transaction is installed.
        case pretrans
        /// Before the package's files are installed (the place to create users).
        case pre
        /// After the package's files are installed.
        case post
        /// After the whole transaction.
        case posttrans
        /// Before the package's files are removed.
        case preun
        /// After the package's files are removed.
        case postun

        public static func < (lhs: Phase, rhs: Phase) -> Bool {
            (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
        }
    }

    /// The phase.
    public var phase: Phase
    /// The script text.
    public var body: String
    /// The `-p` argument: `<lua>`, or an absolute path; `nil` is `/bin/sh`.
    public var interpreter: String?

    /// Creates a scriptlet.
    ///
    /// - Parameters:
    ///   - phase: when rpm runs it.
    ///   - body: the script; macros in it (`%{version}`) are expanded by rpmbuild.
    ///   - interpreter: `<lua>` or an absolute path; `/bin/sh` when `nil`.
    public init(_ phase: Phase, _ body: String, interpreter: String? = nil) {
        self.phase = phase
        self.body = body
        self.interpreter = interpreter
    }

    /// A Lua scriptlet (`%post -p <lua>`), run by rpm's embedded Lua inside the chroot.
    public static func lua(_ phase: Phase, _ body: String) -> RpmSpecScriptlet {
        RpmSpecScriptlet(phase, body, interpreter: "<lua>")
    }

    /// The spec section: header line and body.
    var section: String {
        "%\(phase.rawValue)" + (interpreter.map { " -p \($0)" } ?? "") + "\n" + body
    }
}

/// A file trigger: a script run when files under some path prefixes are installed or removed,
/// by this package or any other in the transaction. The matching paths arrive on standard input,
/// one a line.
public struct RpmSpecFileTrigger: Sendable, Hashable {
    /// Which trigger it is.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Once per package that installed matching files, after that package's `%post`
        /// (and, when the trigger's own package is installed later, once for files already there).
        case fileTriggerIn = "filetriggerin"
        /// Before a package with matching files is removed.
        case fileTriggerUn = "filetriggerun"
        /// After a package with matching files is removed.
        case fileTriggerPostUn = "filetriggerpostun"
        /// Once per transaction, after every `%posttrans`, with all matching paths installed.
        case transFileTriggerIn = "transfiletriggerin"
        /// Once per transaction, before removals, with the matching paths to be removed.
        case transFileTriggerUn = "transfiletriggerun"
        /// Once per transaction, after removals (no paths on standard input).
        case transFileTriggerPostUn = "transfiletriggerpostun"
    }

    /// Which trigger.
    public var kind: Kind
    /// The path prefixes it watches (`/usr/lib/fixture-plugins`).
    public var prefixes: [String]
    /// The script text.
    public var body: String
    /// The `-p` argument; `/bin/sh` when `nil`.
    public var interpreter: String?
    /// `-P`: triggers with a higher priority run first (rpm's default is 1000000).
    public var priority: Int?

    /// Creates a file trigger.
    ///
    /// - Parameters:
    ///   - kind: which trigger.
    ///   - prefixes: the watched path prefixes; at least one.
    ///   - body: the script; the matching paths are on its standard input.
    ///   - interpreter: `<lua>` or an absolute path; `/bin/sh` when `nil`.
    ///   - priority: the `-P` priority, or rpm's default.
    public init(
        _ kind: Kind, prefixes: [String], _ body: String, interpreter: String? = nil, priority: Int? = nil
    ) {
        self.kind = kind
        self.prefixes = prefixes
        self.body = body
        self.interpreter = interpreter
        self.priority = priority
    }

    /// The spec section: header line and body.
    var section: String {
        var header = "%\(kind.rawValue)"
        if let interpreter { header += " -p \(interpreter)" }
        if let priority { header += " -P \(priority)" }
        header += " -- " + prefixes.joined(separator: " ")
        return header + "\n" + body
    }
}
