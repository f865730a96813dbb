// Customize: the template's and the command line's hooks (CustomizeHook.swift), after the
// maintainer scripts and before finalize, so what they leave is cleaned and dated like the rest.
// A host hook runs `/bin/sh -ec SCRIPT hook ROOT` with a fixed environment (PATH, the tree as
// `$1` and `$STRATA_ROOT`, SOURCE_DATE_EPOCH) and its working directory in the tree; a chroot hook
// runs inside the tree as the maintainer scripts do. A hook that fails stops the build with its
// output, like a failed maintainer script.
import Foundation
import StrataCore
import StrataTemplate

enum Customizer {
    /// Runs `hooks` in order on `root`.
    /// - Parameter report: one progress line per hook.
    /// - Throws: ``StrataError`` `.toolFailed` naming the hook, with its output as the cause.
    static func run(_ hooks: [CustomizeHook], root: String, sourceDateEpoch: Int64, report: (String) -> Void) throws {
        for hook in hooks {
            report("customize: \(hook.name) (\(hook.place == .host ? "on the host" : "inside the tree"))")
            switch hook.place {
            case .chroot:
                try Sandbox.run(
                    root: root, script: hook.script,
                    environment: ["SOURCE_DATE_EPOCH": String(sourceDateEpoch), "DEBIAN_FRONTEND": "noninteractive"],
                    what: "the customize hook \(hook.name)")
            case .host:
                let environment = [
                    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8",
                    "STRATA_ROOT": root, "SOURCE_DATE_EPOCH": String(sourceDateEpoch),
                ]
                let output = try Command.runBlocking(
                    "/bin/sh", ["-ec", "cd \"$1\" && " + hook.script, "hook", root], environment: environment)
                guard output.status == 0 else {
                    let text = output.stdoutText + output.stderr
                    let tail = text.split(separator: "\n").suffix(25).map { "  | \($0)" }.joined(separator: "\n")
                    throw StrataError(
                        .toolFailed, "the customize hook \(hook.name) failed (exit \(output.status)) on the host:\n\(tail)",
                        cause: ScriptOutput(what: "the customize hook \(hook.name)", status: output.status, text: text))
                }
            }
        }
    }
}
