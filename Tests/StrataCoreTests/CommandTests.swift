import Foundation
import StrataCore
import Testing

@Suite struct CommandTests {
    /// Async code runs on Dispatch worker threads, which block most signals; a tool strata starts
    /// (gpgv, dpkg, maintainer scripts) must not inherit that mask.
    @Test func toolsStartWithNoSignalBlocked() async throws {
        let output = try await Command.run("/bin/sh", ["-c", "grep '^SigBlk' /proc/self/status"])
        #expect(output.status == 0)
        #expect(output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "SigBlk:\t0000000000000000")
    }
}
