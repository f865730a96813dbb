import Foundation

/// Runs an external tool (gpgv, and later dpkg inside a template) and captures its output.
public enum Command {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: String
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments`; does not throw on a non-zero exit (see ``Output/status``).
    /// - Throws: ``StrataError`` `.toolFailed` when the tool cannot be started.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: [UInt8]? = nil
    ) throws -> Output {
        Interruption.checkpoint()  // no new tool once the clean-up has started
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
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
        if let input {
            inPipe.fileHandleForWriting.write(Data(input))
            try? inPipe.fileHandleForWriting.close()
        }
        // Read both pipes concurrently so that a chatty tool never blocks on a full pipe.
        let errData = LockedBox(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData.set(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        Interruption.parkIfInterrupted()
        return Output(
            status: process.terminationStatus, stdout: [UInt8](outData),
            stderr: String(decoding: errData.get(), as: UTF8.self))
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
