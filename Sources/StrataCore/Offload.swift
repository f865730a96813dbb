// Synchronous work from async code without blocking Swift's cooperative pool (one thread per
// core: on two cores, two blocked waits stop every task in the process). The work runs on a
// Dispatch global-queue thread and the caller's task resumes when it is done. The task's warning
// collector and recorder (Diagnostics) go with it: task-locals do not cross to a thread by themselves.
import Dispatch

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
