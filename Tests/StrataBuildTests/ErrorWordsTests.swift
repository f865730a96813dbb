// Issue 8, item 14: internal error texts reached users (`DecodingError.dataCorrupted …`,
// `NSCocoaErrorDomain error 512`, `bind(descriptor:ptr:bytes:) … Address already in use)`,
// `HTTPClientError.unsupportedScheme`). Each case runs the real `strata` and checks that the
// message names the path or URL and the reason in words, and none of the internal names.
import Foundation
import StrataCore
import StrataPackaging
import StrataTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Texts that must never reach a user.
private let internalTexts = [
    "DecodingError", "NSCocoaErrorDomain", "The operation could not be completed", "bind(descriptor",
    "HTTPClientError", "errno:", "Error Domain=",
]

private func expectWords(_ result: ShellResult, _ expected: String, status: Int32 = 1) {
    let stderr = result.errorOutput
    #expect(result.exitCode == status, "\(result.command): \(stderr)")
    #expect(stderr.contains(expected), "\(stderr)")
    for text in internalTexts { #expect(!stderr.contains(text), "\(text) in: \(stderr)") }
    #expect(stderr.hasPrefix("strata: error: "), "\(stderr)")
}

@Suite("Errors in words, from the real executable")
struct ErrorWordsTests {
    /// A template tree whose repository is at `url` (nothing needs to answer there for these tests).
    static func tree(url: String) throws -> String {
        try FixtureTemplate.make(baseURL: url, keyring: nil, sets: ["s": "app\n"])
    }

    @Test("a corrupt lockfile: the file, 'not valid JSON' and where")
    func corruptLockfile() async throws {
        let dir = try TemporaryDirectory.make(prefix: "strata-badlock")
        let tree = try Self.tree(url: "http://127.0.0.1:\(try StrataExecutable.closedPort())")
        try Data("{\"lockfileVersion\": 1,\n  x".utf8).write(to: URL(fileURLWithPath: "\(dir)/bad.lock.json"))
        let result = try await StrataExecutable.run([
            "lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "\(dir)/store", "-o",
            "\(dir)/bad.lock.json",
            "--check",
        ])
        expectWords(result, "\(dir)/bad.lock.json: not a strata lockfile: not valid JSON (line 2, column 3)", status: 2)

        try Data("{\"lockfileVersion\": 1}".utf8).write(to: URL(fileURLWithPath: "\(dir)/short.lock.json"))
        let short = try await StrataExecutable.run([
            "lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "\(dir)/store", "-o",
            "\(dir)/short.lock.json", "--check",
        ])
        expectWords(short, "\(dir)/short.lock.json: not a strata lockfile: missing '", status: 2)
    }

    @Test("a store that cannot be created: the path and the system's reason")
    func storeUnderProc() async throws {
        let tree = try Self.tree(url: "http://127.0.0.1:\(try StrataExecutable.closedPort())")
        let result = try await StrataExecutable.run([
            "lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "/proc/strata-test/store",
        ])
        expectWords(result, "cannot create directory /proc/strata-test/store/blobs/sha256: No such file or directory")
    }

    @Test(
        "a store on a read-only file system says 'Read-only file system'",
        .enabled(if: geteuid() == 0, "needs root for a bind mount"))
    func readOnlyStore() async throws {
        let dir = try TemporaryDirectory.make(prefix: "strata-ro")
        let mounted = try await Shell.run("mount", ["--bind", dir, dir], check: false)
        try #require(mounted.exitCode == 0, "cannot bind-mount: \(mounted.errorOutput)")
        defer { _ = umount2(dir, Int32(MNT_DETACH)) }
        try await Shell.run("mount", ["-o", "remount,ro,bind", dir])
        let tree = try Self.tree(url: "http://127.0.0.1:\(try StrataExecutable.closedPort())")
        let result = try await StrataExecutable.run([
            "lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "\(dir)/store",
        ])
        expectWords(result, "\(dir)/store/blobs/sha256: Read-only file system")
    }

    @Test("a proxy whose port is taken: the address and 'Address already in use'")
    func busyPort() async throws {
        let (fd, port) = try listeningSocket()
        defer { close(fd) }
        let cache = try TemporaryDirectory.make(prefix: "strata-busy")
        let result = try await StrataExecutable.run(
            ["proxy", "--listen", "127.0.0.1:\(port)", "--cache", cache, "--backend", "x=http://127.0.0.1:1/x"],
            timeout: .seconds(30))
        expectWords(result, "cannot listen on 127.0.0.1:\(port): Address already in use")
    }

    @Test("a repository URL with an unsupported scheme: the URL and the schemes strata fetches")
    func unsupportedScheme() async throws {
        let tree = try Self.tree(url: "ftp://127.0.0.1/debian")
        let dir = try TemporaryDirectory.make(prefix: "strata-ftp")
        let result = try await StrataExecutable.run([
            "lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "\(dir)/store",
        ])
        expectWords(result, "ftp://127.0.0.1/debian/dists/stable/InRelease: unsupported URL scheme 'ftp'")
    }
}

/// A socket listening on 127.0.0.1 at a port the kernel chose.
func listeningSocket() throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw StrataError(.io, "socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard ok else {
        close(fd)
        throw StrataError(.io, "listen on 127.0.0.1:0: \(String(cString: strerror(errno)))")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
