// Where upstream transfers run: threads of the proxy's own, not Swift's default executor.
//
// The default executor is Dispatch's small worker pool (two threads on two cores), shared with
// everything else in the process that blocks a Dispatch thread (waiting for a child process,
// blocking reads, `strata proxy clean` on a large cache). A transfer whose continuation waits
// behind such work holds every client of that file; in the test process, with tests blocking
// workers in parallel, misses stalled for 15 s. Transfers only await the upstream and write to
// their temporary file, flushing it at the end (a blocking fsync): eight threads keep one flush
// from holding up the other transfers.
import NIOPosix

final class TransferExecutor: TaskExecutor {
    private let pool: NIOThreadPool

    init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.submit { _ in job.runSynchronously(on: executor) }
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
