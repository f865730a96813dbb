import Foundation
import StrataCore
import StrataStore
import Testing

@Suite("The blob store")
struct BlobStoreTests {
    func makeStore() throws -> BlobStore {
        try BlobStore(root: NSTemporaryDirectory() + "strata-blobs-\(UUID().uuidString)")
    }

    @Test("a blob is stored under the sha256 of its content and is world-readable")
    func storesByDigest() throws {
        let store = try makeStore()
        let bytes = Array("hello strata\n".utf8)
        let digest = try store.ingest(bytes: bytes, what: "test")
        #expect(digest == SHA256Digest.of(bytes))
        #expect(try FileReader.readAll(store.path(of: digest)) == bytes)
        let mode = try FileManager.default.attributesOfItem(atPath: store.path(of: digest))[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    @Test("content whose digest differs from the expected one is refused and leaves nothing behind")
    func refusesMismatch() throws {
        let store = try makeStore()
        let promised = SHA256Digest.of(Array("the real thing".utf8))
        let error = #expect(throws: StrataError.self) {
            try store.ingest(bytes: Array("something else".utf8), expected: promised, what: "pkg_1.0_amd64.deb")
        }
        #expect(error?.code == .verificationFailed)
        #expect(error?.message.contains(promised.hex) == true)
        #expect(error?.message.contains("pkg_1.0_amd64.deb") == true)
        #expect(!store.contains(promised))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(store.root)/tmp").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(store.root)/blobs/sha256").isEmpty)
    }

    @Test("verifyAll finds a blob with one byte flipped")
    func findsCorruption() throws {
        let store = try makeStore()
        let digest = try store.ingest(bytes: Array(repeating: 7, count: 4096), what: "test")
        #expect(try store.verifyAll().isEmpty)
        var bytes = try FileReader.readAll(store.path(of: digest))
        bytes[100] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: store.path(of: digest)))
        #expect(try store.verifyAll() == [digest])
    }

    @Test("digests parse only as 64 hex digits")
    func digestParsing() {
        #expect(throws: StrataError.self) { try SHA256Digest(hex: "abc") }
        #expect(throws: StrataError.self) { try SHA256Digest(hex: String(repeating: "g", count: 64)) }
        #expect((try? SHA256Digest(hex: String(repeating: "A", count: 64)))?.hex == String(repeating: "a", count: 64))
    }
}
