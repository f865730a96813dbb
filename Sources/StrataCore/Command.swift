// The one process runner, for the product and the tests. `run` is async and never blocks the
// cooperative pool: the child is started and waited for on a Dispatch thread (Offload). Every
// child is started with an empty signal mask, adopted by Interruption (killed when strata is
// interrupted), fed its input, drained of both output streams at once (a chatty tool never
// blocks on a full pipe), and killed when it outlives its timeout. `runBlocking` is the same for
// code that is synchronous all the way down (the build's stages run on an offloaded thread); it
// cannot be called from async code.
import Foundation

/// Runs an external tool (gpgv, mount, a sandboxed script) and captures its output.
public enum Command {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: String
        /// The tool was killed because it outlived its timeout.
        public var timedOut = false
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments`; does not throw on a non-zero exit (see ``Output/status``).
    /// - Parameters:
    ///   - environment: the child's whole environment; the caller's when `nil`.
    ///   - directory: the child's working directory.
    ///   - input: what the child reads on standard input (`/dev/null` when `nil`).
    ///   - timeout: the child is killed with SIGKILL after this long (``Output/timedOut``).
    /// - Throws: ``StrataError`` `.toolFailed` when the tool cannot be started.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        input: [UInt8]? = nil, timeout: Duration? = nil
    ) async throws -> Output {
        try await Offload.run {
            try spawnAndWait(
                executable, arguments, environment: environment, directory: directory, input: input, timeout: timeout)
        }
    }

    /// ``run(_:_:environment:directory:input:timeout:)`` for synchronous code, on the calling thread.
    @available(*, noasync, message: "use the async Command.run: this blocks the calling thread")
    public static func runBlocking(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        input: [UInt8]? = nil, timeout: Duration? = nil
    ) throws -> Output {
        try spawnAndWait(
            executable, arguments, environment: environment, directory: directory, input: input, timeout: timeout)
    }

    private static func spawnAndWait(
        _ executable: String, _ arguments: [String], environment: [String: String]?, directory: String?,
        input: [UInt8]?, timeout: Duration?
    ) throws -> Output {
        Interruption.checkpoint()  // no new tool once the clean-up has started
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        do {
            try withEmptySignalMask { try process.run() }
        } catch {
            throw StrataError(.toolFailed, "cannot run \(executable): \(StrataError.reason(of: error))")
        }
        let pid = process.processIdentifier
        Interruption.adopt(pid)
        if Interruption.isInterrupted { kill(pid, SIGKILL) }  // started as the clean-up began
        defer { Interruption.release(pid) }
        let finished = LockedBox(false)
        let timedOut = LockedBox(false)
        if let timeout {
            let seconds = timeout.seconds
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                finished.update { done in
                    if !done {
                        timedOut.set(true)
                        kill(pid, SIGKILL)
                    }
                }
            }
        }
        let group = DispatchGroup()
        if let input {
            // Written from its own thread: a tool that writes before it reads never deadlocks us.
            group.enter()
            DispatchQueue.global().async {
                try? inPipe.fileHandleForWriting.write(contentsOf: Data(input))
                try? inPipe.fileHandleForWriting.close()
                group.leave()
            }
        }
        let errData = LockedBox(Data())
        group.enter()
        DispatchQueue.global().async {
            errData.set(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        finished.set(true)
        Interruption.parkIfInterrupted()
        return Output(
            status: process.terminationStatus, stdout: [UInt8](outData),
            stderr: String(decoding: errData.get(), as: UTF8.self), timedOut: timedOut.get())
    }

    /// Runs `body` with no signal blocked on the calling thread. Foundation's Process spawns the
    /// child from the calling thread and the child keeps that thread's signal mask; Dispatch's
    /// worker threads (where async code runs) block SIGINT, SIGTERM, SIGALRM, SIGHUP and more, so
    /// a maintainer script's `timeout`, `sleep` under a trap or daemon would inherit them blocked.
    public static func withEmptySignalMask<T>(_ body: () throws -> T) rethrows -> T {
        var empty = sigset_t()
        var previous = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        return try body()
    }

    /// Finds `name` on `PATH`.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// A value behind a lock, for handing results between threads.
public final class LockedBox<Value>: @unchecked Sendable {
    // @unchecked: every access goes through the lock.
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ newValue: Value) { lock.withLock { value = newValue } }
    public func update<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}

extension Duration {
    /// The duration in seconds, for timeouts and for saying how long a step took.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
