// Synchronous work from async code without blocking Swift's cooperative pool (one thread per
// core: on two cores, two blocked waits stop every task in the process). The work runs on a
// Dispatch global-queue thread and the caller's task resumes when it is done. The task's warning
// collector and recorder (Diagnostics) go with it: task-locals do not cross to a thread by themselves.
import Dispatch
import Foundation

public enum Offload {
    /// Runs `body` on a Dispatch thread and returns its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let (collector, recorder) = (Diagnostics.collector, Diagnostics.recorder)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try Diagnostics.$collector.withValue(collector) {
                            try Diagnostics.$recorder.withValue(recorder) { try body() }
                        }
                    })
            }
        }
    }
}

extension Offload {
    /// Runs `body` on a thread of its own (not one of Dispatch's workers) and returns its result:
    /// for work that waits on other tasks' progress, such as imports consuming downloads. A
    /// Dispatch worker blocked in such a wait is one the Swift concurrency pool may need (on Linux
    /// both draw on libdispatch's threads, whose monitor adds a thread about once a second), and
    /// such waits stalled downloads by a second. The task-local diagnostics context does not go
    /// along: lines said there go to the process's sink. (Binding it there crashed the optimized
    /// build in swift_task_localValuePush while the collector's type was an optional closure; it
    /// is a class now, but nothing said on these threads needs collecting.)
    public static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body(index)` for `0..<count` on `count` threads of their own (the calling thread is
    /// one of them) and returns when all have finished: for loops that block waiting for input.
    /// No task-local context goes along (see ``onOwnThread(_:)``).
    @available(*, noasync)
    public static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for index in 1..<max(1, count) {
            done.enter()
            let thread = Thread {
                body(index)
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        body(0)
        done.wait()
    }
}
