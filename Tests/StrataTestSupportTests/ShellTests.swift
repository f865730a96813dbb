import Foundation
import StrataCore
import StrataTestSupport
import Testing

@Suite("Running tools", .timeLimit(.minutes(1)))
struct ShellTests {
    @Test("output, environment and working directory reach the tool")
    func capturesOutput() async throws {
        let result = try await Shell.run(
            "sh", ["-c", "echo out; echo err >&2; echo $STRATA_X; pwd"], environment: ["STRATA_X": "value"],
            directory: "/usr")
        #expect(result.output == "out\nvalue\n/usr\n")
        #expect(result.errorOutput == "err\n")
    }

    @Test("a non-zero exit throws toolFailed naming the command and its stderr")
    func failureThrows() async throws {
        let error = await #expect(throws: StrataError.self) {
            try await Shell.run("sh", ["-c", "echo broken >&2; exit 3"])
        }
        #expect(error?.code == .toolFailed)
        #expect(error?.message.contains("sh -c 'echo broken >&2; exit 3'") == true)
        #expect(error?.message.contains("status 3") == true)
        #expect(error?.message.contains("broken") == true)
        let unchecked = try await Shell.run("sh", ["-c", "exit 3"], check: false)
        #expect(unchecked.exitCode == 3)
    }

    @Test("a tool that outlives its timeout is killed")
    func timeout() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: StrataError.self) {
            try await Shell.run("sleep", ["30"], timeout: .milliseconds(300))
        }
        #expect(clock.now - start < .seconds(10))
    }

    @Test("a missing tool throws notFound")
    func missingTool() async throws {
        let error = await #expect(throws: StrataError.self) { try await Shell.run("strata-no-such-tool") }
        #expect(error?.code == .notFound)
    }
}
