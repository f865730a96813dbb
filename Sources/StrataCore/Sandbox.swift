// Running a script inside a template: the script sandbox of CStrataShim/sandbox.c. strata runs its
// own executable again with `__strata-sandbox`; before anything else starts, that process makes a
// user namespace (an id map, ``IDMap``: a build's tree maps every id to itself, a container's tree
// its subordinate range), and new mount, pid, ipc, uts and network namespaces owned by it, bind-mounts the tree on itself with /proc and a
// read-only /sys inside, makes it the root with pivot_root (the host's root detached: no
// chroot-in-chroot way back), cuts the capabilities to what package scripts need (no sys_admin,
// sys_chroot, mknod, sys_module, sys_ptrace, …), sets no_new_privs, closes every descriptor but
// 0, 1 and 2, and runs `/bin/sh -ec SCRIPT` with a fixed environment: no host variables (proxies,
// locales, home) leak into the template. Mounts and processes end with the namespace, so a failing
// or killed script leaves nothing behind on the host.
import CStrataShim
import Foundation

public enum Sandbox {
    /// Runs `script` with `/bin/sh -e` as root inside `root`, confined as above.
    /// - Parameter ids: the user namespace's map; `nil` runs in the host's user namespace (for a
    ///   kernel that allows none: ``IDMap/identityIfAvailable``).
    /// - Returns: the combined output.
    /// - Throws: ``StrataError`` `.toolFailed` with `what` and the last lines of output when the
    ///   script exits non-zero (the whole output as a ``ScriptOutput`` cause).
    @discardableResult
    public static func run(
        root: String, script: String, environment: [String: String], what: String,
        ids: IDMap? = .identityIfAvailable
    ) throws -> String {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root"]
        env.merge(environment) { _, new in new }
        let variables = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let mapping = ids.map { ["--ids=0:\($0.outside):\($0.count)"] } ?? []
        // One stream, in the order the script wrote it (a failure is read from what precedes it).
        let output = try Command.runBlocking(
            executable, [String(cString: strata_sandbox_argument())] + mapping + [root, "exec 2>&1\n" + script] + variables)
        let text = output.stdoutText + output.stderr
        guard output.status == 0 else {
            let tail = text.split(separator: "\n").suffix(25).joined(separator: "\n")
            throw StrataError(
                .toolFailed, "\(what) failed (exit \(output.status)):\n\(tail)",
                cause: ScriptOutput(what: what, status: output.status, text: text))
        }
        return text
    }

    /// `'text'` with embedded quotes escaped, for /bin/sh.
    public static func shellQuote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The ids of a sandbox's user namespace: its 0…count-1 are the host's outside…outside+count-1.
public struct IDMap: Sendable, Equatable {
    public var outside: UInt32
    public var count: UInt32

    public init(outside: UInt32, count: UInt32) {
        precondition(count > 0 && UInt64(outside) + UInt64(count) <= UInt64(UInt32.max), "an id map inside 0…2³²-2")
        self.outside = outside
        self.count = count
    }

    /// Every id to itself: a build's tree is owned by the host's ids, and the script's capabilities
    /// still count only inside its own namespace.
    public static let identity = IDMap(outside: 0, count: UInt32.max)

    /// ``identity`` where this kernel lets root make user namespaces (`user.max_user_namespaces`
    /// above 0) and strata runs in the host's own (its uid_map is every id to itself): inside a
    /// rootless or unprivileged container that map cannot be written, and scripts run without one.
    public static let identityIfAvailable: IDMap? = {
        guard let text = try? String(contentsOfFile: "/proc/sys/user/max_user_namespaces", encoding: .utf8),
              let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0,
              let map = try? String(contentsOfFile: "/proc/self/uid_map", encoding: .utf8),
              map.split(whereSeparator: \.isWhitespace) == ["0", "0", "4294967295"]
        else { return nil }
        return .identity
    }()
}

/// The whole output of a script that failed, carried as a ``StrataError``'s cause so that the
/// caller can keep it in a log; it adds nothing to the error's one-line description.
public struct ScriptOutput: Error, Sendable, CustomStringConvertible {
    public var what: String
    public var status: Int32
    public var text: String

    public init(what: String, status: Int32, text: String) {
        self.what = what
        self.status = status
        self.text = text
    }

    public var description: String { "" }
}
