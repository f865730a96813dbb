// What happens when a build is interrupted (SIGINT from a terminal's ^C, SIGTERM from a service
// manager or `kill`): the tools strata runs are killed, every clean-up registered by the work in
// progress runs (unmount the overlay and its tmpfs, remove the scratch tree and a partial output),
// `strata: interrupted` is printed and the process exits 130 or 143, as a shell reports a
// signal. SIGKILL cannot be caught: what it leaves is cleaned by the next build (Scratch).
//
// The signals are caught by a real handler (CStrataShim writes the number to a pipe), not by
// SIG_IGN, so the programs strata executes start with the default disposition. The thread that
// acts on them is a plain thread, not part of Swift's cooperative pool, so it runs even while
// every pool thread waits for a child. A thread whose child was killed by the clean-up parks in
// ``parkIfInterrupted()`` instead of reporting that child's failure as the build's error.
import CStrataShim
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public enum Interruption {
    public struct Token: Hashable, Sendable {
        let id: UInt64
    }

    private struct State {
        var nextID: UInt64 = 0
        var actions: [(UInt64, @Sendable () -> Void)] = []
        var children: Set<Int32> = []
        var installed = false
    }

    private static let state = LockedBox(State())
    /// Read at every checkpoint (per file of a build): an atomic load, not a lock.
    private static let interrupted = Atomic<Bool>(false)

    /// Whether a signal has started the clean-up.
    public static var isInterrupted: Bool { interrupted.load(ordering: .acquiring) }

    /// Catches SIGINT and SIGTERM for the rest of the process's life. Call once, from the
    /// executable, before the work that registers clean-ups.
    public static func install() {
        guard state.update({ let was = $0.installed; $0.installed = true; return !was }) else { return }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let reader = fds[0]
        let signals: [Int32] = [SIGINT, SIGTERM]
        guard strata_signals_to_pipe(fds[1], signals, Int32(signals.count)) == 0 else { return }
        let thread = Thread {
            // This thread takes the signals even when every other one blocks them (Dispatch's
            // workers do, and so does a process started from one of them).
            var set = sigset_t()
            sigemptyset(&set)
            for signal in signals { sigaddset(&set, signal) }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            var byte: UInt8 = 0
            while read(reader, &byte, 1) != 1 {}
            run(signal: Int32(byte))
        }
        thread.name = threadName
        thread.start()
    }

    /// Registers `action` to run if the process is interrupted; clean-ups run newest first.
    /// Once the process is interrupted, the caller parks here instead: the clean-up may have
    /// taken its list already, and the work `action` undoes must not begin.
    public static func register(_ action: @escaping @Sendable () -> Void) -> Token {
        let token = state.update { state in
            state.nextID += 1
            state.actions.append((state.nextID, action))
            return Token(id: state.nextID)
        }
        parkIfInterrupted()
        return token
    }

    /// The work is done or was undone another way: the action will not run.
    public static func unregister(_ token: Token) {
        state.update { $0.actions.removeAll { $0.0 == token.id } }
    }

    /// Runs `body` with `action` registered for its duration.
    public static func whileRunning<T>(cleanup action: @escaping @Sendable () -> Void, _ body: () throws -> T) rethrows -> T {
        let token = register(action)
        defer { unregister(token) }
        return try body()
    }

    /// A child process strata waits for: killed when the process is interrupted.
    static func adopt(_ pid: Int32) { state.update { _ = $0.children.insert(pid) } }
    static func release(_ pid: Int32) { state.update { _ = $0.children.remove(pid) } }

    /// Called between steps of long work (per file composed, imported, exported, checked in): once
    /// the clean-up has started, the calling thread stops here, so it no longer writes into
    /// what the clean-up removes.
    @inline(__always)
    public static func checkpoint() { parkIfInterrupted() }

    /// Blocks forever once the clean-up has started: the caller's failure is the interruption's
    /// doing, and the clean-up thread ends the process.
    public static func parkIfInterrupted() {
        guard isInterrupted, Thread.current.name != threadName else { return }  // never the clean-up itself
        while true { pause() }
    }

    static let threadName = "strata-signals"

    private static func run(signal received: Int32) {
        interrupted.store(true, ordering: .releasing)
        // A second ^C (or SIGTERM) while the clean-up runs ends the process at once.
        _ = signal(SIGINT, SIG_DFL)
        _ = signal(SIGTERM, SIG_DFL)
        // unshare --kill-child takes its namespace down with it; a SIGTERM it would block.
        for pid in state.get().children { kill(pid, SIGKILL) }
        // Threads in the middle of a step reach their next checkpoint and stop there; one that
        // registers a clean-up after this parks in register (Interruption.register).
        usleep(50_000)
        let (actions, children) = state.update { state -> ([@Sendable () -> Void], Set<Int32>) in
            (state.actions.reversed().map(\.1), state.children)
        }
        for pid in children { kill(pid, SIGKILL) }
        for action in actions { action() }
        let clear = isatty(STDERR_FILENO) == 1 ? "\r\u{1b}[K" : ""
        FileHandle.standardError.write(Data("\(clear)strata: interrupted\n".utf8))
        _exit(128 + received)
    }
}
