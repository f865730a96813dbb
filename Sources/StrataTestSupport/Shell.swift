// Runs the reference tools (dpkg-deb, apt-ftparchive, gpg, rpmbuild, createrepo_c, apt-get) that
// fixtures are made with and results are checked against, through the product's own process
// runner (Command.run), with what tests want on top: PATH lookup, an environment edited from
// this process's, and a non-zero exit as an error.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// What a finished tool run produced.
public struct ShellResult: Sendable {
    /// The command line as run, tool first.
    public let command: [String]
    /// The exit status (or 128 + signal number when the tool was killed).
    public let exitCode: Int32
    /// Everything the tool wrote to standard output.
    public let stdout: Data
    /// Everything the tool wrote to standard error.
    public let stderr: Data

    /// Standard output decoded as UTF-8.
    public var output: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error decoded as UTF-8.
    public var errorOutput: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs external tools for tests.
public enum Shell {
    /// Runs `tool` and waits for it without blocking a thread of the cooperative pool.
    ///
    /// - Parameters:
    ///   - tool: a path, or a name looked up in `PATH`.
    ///   - arguments: the arguments after the tool name.
    ///   - environment: variables set on top of this process's environment.
    ///   - unsetting: variables removed from the inherited environment (proxies, `GNUPGHOME`, …).
    ///   - directory: the working directory; this process's when `nil`.
    ///   - input: bytes fed to standard input; `/dev/null` when `nil`.
    ///   - timeout: the tool is killed (and this throws) when it runs longer.
    ///   - check: when `true`, a non-zero exit status throws.
    /// - Returns: the exit status and both output streams.
    /// - Throws: ``StrataError`` `.toolFailed` with the command line and standard error when the
    ///   tool exits non-zero (and `check` is set) or times out; `.notFound` when the tool is missing.
    @discardableResult
    public static func run(
        _ tool: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        unsetting: Set<String> = [],
        directory: String? = nil,
        input: Data? = nil,
        timeout: Duration = .seconds(120),
        check: Bool = true
    ) async throws -> ShellResult {
        guard let executable = locate(tool) else {
            throw StrataError(.notFound, "tool '\(tool)' not found in PATH")
        }
        let command = [tool] + arguments
        var env = ProcessInfo.processInfo.environment
        for name in unsetting { env.removeValue(forKey: name) }
        env.merge(environment) { _, new in new }
        // The product's runner: an empty signal mask, no blocked cooperative thread, the timeout.
        let output = try await Command.run(
            executable, arguments, environment: env, directory: directory, input: input.map { [UInt8]($0) },
            timeout: timeout)
        let result = ShellResult(
            command: command, exitCode: output.status, stdout: Data(output.stdout), stderr: Data(output.stderr.utf8))
        if output.timedOut {
            throw StrataError(.toolFailed, "\(render(command)) timed out after \(timeout)\n\(result.errorOutput)")
        }
        if check && output.status != 0 {
            throw StrataError(
                .toolFailed,
                "\(render(command)) exited with status \(output.status)\n\(result.errorOutput)\(result.output.suffix(2000))")
        }
        return result
    }

    /// The absolute path of `tool`: itself when it contains a slash, else the first executable
    /// match in `PATH` (or the usual system directories when `PATH` is unset).
    public static func locate(_ tool: String) -> String? {
        if tool.contains("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A command line as a person would type it, for error messages.
    public static func render(_ command: [String]) -> String {
        command.map { word in
            word.isEmpty || word.contains(where: { " \t\n'\"$\\".contains($0) })
                ? "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" : word
        }.joined(separator: " ")
    }
}
