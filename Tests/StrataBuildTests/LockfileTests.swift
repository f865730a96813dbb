import Foundation
import StrataBuild
import StrataCore
import StrataPackaging
import Testing

@Suite("Lockfile format and --check")
struct LockfileTests {
    static func digest(_ s: String) -> SHA256Digest { SHA256Digest.of(Array(s.utf8)) }

    static func lock(_ packages: [(String, String)], config: String = "c", index: String = "i") -> Lockfile {
        Lockfile(
            lockfileVersion: 1, target: "debian/12", set: "minbase", family: .deb, architecture: "amd64",
            configDigest: digest(config),
            repositories: [
                .init(
                    name: "main", url: "http://127.0.0.1/debian", suite: "bookworm",
                    release: .init(path: "dists/bookworm/InRelease", sha256: digest("r"), size: nil),
                    date: "2025-05-17T00:00:00Z",
                    indexes: [.init(path: "dists/bookworm/main/binary-amd64/Packages.xz", sha256: digest(index), size: 1)])
            ],
            packages: packages.map {
                .init(
                    name: $0.0, version: $0.1, architecture: "amd64", repository: "main", path: "pool/\($0.0).deb",
                    sha256: digest($0.0 + $0.1), size: 1)
            })
    }

    @Test("changes lists added, removed and upgraded packages and moved indexes")
    func changes() {
        let old = Self.lock([("a", "1"), ("b", "1"), ("c", "1")])
        let new = Self.lock([("a", "1"), ("b", "2"), ("d", "1")], index: "j")
        #expect(
            new.changes(since: old) == [
                "! repository main: index changed (2025-05-17T00:00:00Z -> 2025-05-17T00:00:00Z)",
                "~ b 1 -> 2", "- c", "+ d 1",
            ])
        #expect(old.changes(since: old).isEmpty)
        #expect(Self.lock([("a", "1")], config: "other").changes(since: Self.lock([("a", "1")])) == ["! template configuration changed"])
    }

    @Test("encoding is stable, sorted and round-trips")
    func roundTrip() throws {
        let lock = Self.lock([("a", "1")])
        let bytes = try lock.encoded()
        #expect(try lock.encoded() == bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"lockfileVersion\" : 1"))
        #expect(text.range(of: "\"architecture\"")!.lowerBound < text.range(of: "\"configDigest\"")!.lowerBound)
        let path = NSTemporaryDirectory() + "strata-lock-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try Lockfile.read(path) == lock)
    }

    @Test("an unknown lockfile version or malformed JSON is a clear error naming the file")
    func badLockfile() throws {
        let path = NSTemporaryDirectory() + "strata-lock-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("{\"lockfileVersion\": 1".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StrataError.self) { try Lockfile.read(path) }
        #expect(error?.message.hasPrefix(path) == true)
        var lock = Self.lock([])
        lock.lockfileVersion = 99
        try Data(try lock.encoded()).write(to: URL(fileURLWithPath: path))
        let versionError = #expect(throws: StrataError.self) { try Lockfile.read(path) }
        #expect(versionError?.message.contains("version 99") == true)
    }
}
