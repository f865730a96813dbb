// The built `strata` executable, for tests of what the command line does: exit statuses, the
// words on stderr, files created or not. `swift build --build-tests` builds it beside the tests.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public enum StrataExecutable {
    /// `.build/debug/strata` of this checkout, or `$STRATA_TEST_EXECUTABLE` when set: `make test`
    /// runs the command-line tests once more through the optimized build, where crashes appear
    /// that debug builds never show (two in `swift_task_localValuePush` so far).
    public static var path: String {
        if let chosen = ProcessInfo.processInfo.environment["STRATA_TEST_EXECUTABLE"], !chosen.isEmpty { return chosen }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/strata").path
    }

    /// Runs `strata arguments…` to completion, whatever its exit status.
    /// - Parameters:
    ///   - environment: variables set on top of this process's environment.
    ///   - unsetting: variables removed (`STRATA_HOME`, `STRATA_TEMPLATES`, proxies).
    ///   - directory: the working directory; a fresh temporary one when `nil`, so that nothing
    ///     lands in the checkout.
    ///   - executable: another copy of strata to run (a "release" copy outside the checkout).
    /// - Throws: ``StrataError`` `.toolFailed` when it runs longer than `timeout`.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:],
        unsetting: Set<String> = ["STRATA_HOME", "STRATA_TEMPLATES", "http_proxy", "https_proxy"],
        directory: String? = nil, executable: String? = nil, timeout: Duration = .seconds(120)
    ) async throws -> ShellResult {
        let cwd = try directory ?? TemporaryDirectory.make(prefix: "strata-cwd")
        return try await Shell.run(
            executable ?? path, arguments, environment: environment, unsetting: unsetting, directory: cwd,
            timeout: timeout, check: false)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on (bound once by the kernel's choice, then
    /// closed), so a connection to it is refused.
    public static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StrataError(.io, "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw StrataError(.io, "bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
