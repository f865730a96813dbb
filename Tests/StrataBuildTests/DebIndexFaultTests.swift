import Foundation
import StrataBuild
import StrataCore
import StrataStore
import StrataTestSupport
import Testing

/// Bad input from a repository: each case ends in a clear error, and the blob store holds no
/// file whose content is not what its name says, nor half-written files.
@Suite("Tampered, unsigned and truncated Debian indexes")
struct DebIndexFaultTests {
    static func packagesPath(_ repo: DebFixtureRepo) throws -> (plain: String, byHash: String) {
        let release = try String(contentsOfFile: "\(repo.root)/dists/stable/Release", encoding: .utf8)
        // The SHA256 entry: the line whose hash has 64 hex digits (MD5, SHA1 and SHA512 lines differ).
        let line = try #require(
            release.split(separator: "\n").first {
                $0.hasSuffix(" main/binary-amd64/Packages.xz") && $0.split(separator: " ").first?.count == 64
            })
        let hex = try #require(line.split(separator: " ").first)
        return ("/dists/stable/main/binary-amd64/Packages.xz", "/dists/stable/main/binary-amd64/by-hash/SHA256/\(hex)")
    }

    func expectFailure(
        _ code: StrataError.Code, mentioning text: String, keyring: String? = nil,
        fault: ((LoopbackHTTPServer, DebFixtureRepo) throws -> Void)
    ) async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            try fault(server, repo)
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: keyring ?? repo.key?.keyringPath, sets: ["s": "app\n"])
            let store = try BlobStore(root: TemporaryDirectory.make(prefix: "strata-store"))
            let error = await #expect(throws: StrataError.self) {
                try await FixtureTemplate.lock(tree: tree, set: "s", store: store.root)
            }
            #expect(error?.code == code, "\(error?.description ?? "no error")")
            #expect(error?.message.contains(text) == true, "\(error?.description ?? "no error")")
            #expect(try store.verifyAll().isEmpty)
            #expect(store.temporaryFiles.isEmpty)
        }
    }

    @Test("a tampered InRelease fails signature verification")
    func tamperedInRelease() async throws {
        try await expectFailure(.verificationFailed, mentioning: "InRelease") { server, repo in
            var text = try String(contentsOfFile: "\(repo.root)/dists/stable/InRelease", encoding: .utf8)
            text = text.replacingOccurrences(of: "Suite: stable", with: "Suite: stablE")
            server.setFault(.replaceBody(with: Array(text.utf8)), for: "/dists/stable/InRelease")
        }
    }

    @Test("an InRelease signed by a key not in the template's keyring is refused")
    func unknownKey() async throws {
        let other = try await TestGPGKey.unrelated()
        try await expectFailure(.verificationFailed, mentioning: "signature not valid", keyring: other.keyringPath) { _, _ in }
    }

    @Test("a tampered Packages.xz is refused by its sha256 from the verified Release")
    func tamperedPackages() async throws {
        try await expectFailure(.verificationFailed, mentioning: "sha256 mismatch") { server, repo in
            let paths = try Self.packagesPath(repo)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(repo.root)\(paths.plain)"))
            bytes[bytes.count / 2] ^= 0xff
            server.setFault(.replaceBody(with: [UInt8](bytes)), for: paths.byHash)
        }
    }

    @Test("a truncated Packages.xz download is refused and leaves nothing behind")
    func truncatedPackages() async throws {
        try await expectFailure(.network, mentioning: "Packages") { server, repo in
            let paths = try Self.packagesPath(repo)
            server.setFault(.truncate(after: 100), for: paths.byHash)
        }
    }

    @Test("a missing suite says which suite")
    func missingSuite() async throws {
        try await expectFailure(.notFound, mentioning: "stable") { server, _ in
            server.setFault(.status(404), for: "/dists/stable/InRelease")
            server.setFault(.status(404), for: "/dists/stable/Release")
        }
    }
}
