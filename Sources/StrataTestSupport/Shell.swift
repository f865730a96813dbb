// Runs the reference tools (dpkg-deb, apt-ftparchive, gpg, rpmbuild, createrepo_c, apt-get) that
// fixtures are made with and results are checked against. Output goes to temporary files rather
// than pipes, so a tool that writes a lot to both streams can never deadlock us.
import Foundation
import StrataCore
import Synchronization

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

/// Runs external tools with Foundation's `Process`.
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
        let scratch = try TemporaryDirectory.make(prefix: "shell", registerForCleanup: false)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout"
        let errPath = scratch + "/stderr"
        let inPath = scratch + "/stdin"
        try Data().write(to: URL(fileURLWithPath: outPath))
        try Data().write(to: URL(fileURLWithPath: errPath))
        try (input ?? Data()).write(to: URL(fileURLWithPath: inPath))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for name in unsetting { env.removeValue(forKey: name) }
        env.merge(environment) { _, new in new }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        guard let outHandle = FileHandle(forWritingAtPath: outPath),
            let errHandle = FileHandle(forWritingAtPath: errPath),
            let inHandle = FileHandle(forReadingAtPath: inPath)
        else { throw StrataError(.io, "cannot open capture files in \(scratch)") }
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle

        let finished = Mutex(false)
        let timedOut = Mutex(false)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finishedProcess in
                finished.withLock { $0 = true }
                continuation.resume(returning: finishedProcess.terminationStatus)
            }
            do {
                try process.run()
            } catch {
                continuation.resume(
                    throwing: StrataError(
                        .toolFailed, "cannot start \(render(command))",
                        cause: LaunchFailure(description: String(describing: error))))
                return
            }
            let pid = process.processIdentifier
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                finished.withLock { done in
                    if !done {
                        timedOut.withLock { $0 = true }
                        kill(pid, SIGKILL)
                    }
                }
            }
        }
        let result = ShellResult(
            command: command,
            exitCode: status,
            stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
            stderr: FileManager.default.contents(atPath: errPath) ?? Data())
        if timedOut.withLock({ $0 }) {
            throw StrataError(.toolFailed, "\(render(command)) timed out after \(timeout)\n\(result.errorOutput)")
        }
        if check && status != 0 {
            throw StrataError(
                .toolFailed,
                "\(render(command)) exited with status \(status)\n\(result.errorOutput)\(result.output.suffix(2000))")
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

/// Why `Process.run()` refused, kept as text because Foundation's error is not `Sendable`.
struct LaunchFailure: Error, Sendable, CustomStringConvertible {
    let description: String
}
