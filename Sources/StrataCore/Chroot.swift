// Running a script inside a template: private mount and PID namespaces (util-linux `unshare --mount
// --propagation private --pid --fork --kill-child`), /proc and /sys mounted inside the tree, then `chroot`. The mounts
// exist only in that namespace and vanish with its last process, so a failing or killed script
// leaves no mount behind on the host. The environment is cleared to a fixed set: no host
// variables (proxies, locales, home) leak into the template.

public enum Chroot {
    /// Runs `script` with `/bin/sh -e` as root inside `root`.
    /// - Returns: the combined output.
    /// - Throws: ``StrataError`` `.toolFailed` with `what` and the last lines of output when the
    ///   script exits non-zero.
    @discardableResult
    public static func run(root: String, script: String, environment: [String: String], what: String) throws -> String {
        guard let unshare = Command.which("unshare") else {
            throw StrataError(.toolFailed, "unshare (util-linux) is needed to run maintainer scripts")
        }
        let quotedRoot = shellQuote(root)
        var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root"]
        env.merge(environment) { _, new in new }
        let exports = env.sorted { $0.key < $1.key }.map { "\($0.key)=\(shellQuote($0.value))" }.joined(separator: " ")
        let outer = """
            set -e
            mount -t proc proc \(quotedRoot)/proc
            mount -t sysfs sysfs \(quotedRoot)/sys 2>/dev/null || true
            exec chroot \(quotedRoot) /usr/bin/env -i \(exports) /bin/sh -ec \(shellQuote(script)) 2>&1
            """
        // A PID namespace too: whatever a script leaves running in the background is killed when
        // the script's shell (its PID 1) exits, so no daemon outlives the step or keeps our pipes open.
        let output = try Command.run(
            unshare, ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", outer + " 2>&1"])
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
