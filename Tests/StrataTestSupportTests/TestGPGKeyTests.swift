import Foundation
import StrataCore
import StrataTestSupport
import Testing

@Suite("Throwaway signing keys", .timeLimit(.minutes(1)))
struct TestGPGKeyTests {
    @Test("a clearsigned and two detached signatures verify with gpgv against the binary keyring")
    func signaturesVerify() async throws {
        let key = try await TestGPGKey.archive()
        #expect(key.fingerprint.count == 40)
        let keyring = try Data(contentsOf: URL(fileURLWithPath: key.keyringPath))
        // A binary keyring starts with an OpenPGP public-key packet (old format tag 6, or new format 0xC6),
        // never with the "-----BEGIN" of an armored one.
        #expect(keyring.first.map { $0 & 0x80 != 0 } == true)

        let dir = try TemporaryDirectory.make(prefix: "gpgtest")
        let data = dir + "/Release"
        try Data("Origin: test\n".utf8).write(to: URL(fileURLWithPath: data))
        try await key.clearsign(data, to: dir + "/InRelease")
        try await key.detachSign(data, to: dir + "/Release.gpg")
        try await key.detachSign(data, to: dir + "/Release.asc", armored: true)

        #expect(try await TestGPGKey.verify(signature: dir + "/InRelease", keyring: key.keyringPath))
        #expect(try await TestGPGKey.verify(signature: dir + "/Release.gpg", data: data, keyring: key.keyringPath))
        #expect(try await TestGPGKey.verify(signature: dir + "/Release.asc", data: data, keyring: key.keyringPath))
        let armored = try String(contentsOfFile: dir + "/Release.asc", encoding: .utf8)
        #expect(armored.hasPrefix("-----BEGIN PGP SIGNATURE-----"))
    }

    @Test("a signature by the unrelated key does not verify against the archive keyring, nor a tampered file")
    func wrongKeyAndTamperingFail() async throws {
        let key = try await TestGPGKey.archive()
        let other = try await TestGPGKey.unrelated()
        #expect(other.fingerprint != key.fingerprint)
        let dir = try TemporaryDirectory.make(prefix: "gpgtest")
        let data = dir + "/Release"
        try Data("Origin: test\n".utf8).write(to: URL(fileURLWithPath: data))
        try await other.detachSign(data, to: dir + "/Release.gpg")
        #expect(try await !TestGPGKey.verify(signature: dir + "/Release.gpg", data: data, keyring: key.keyringPath))
        #expect(try await TestGPGKey.verify(signature: dir + "/Release.gpg", data: data, keyring: other.keyringPath))

        try await key.detachSign(data, to: dir + "/Good.gpg")
        try Data("Origin: evil\n".utf8).write(to: URL(fileURLWithPath: data))
        #expect(try await !TestGPGKey.verify(signature: dir + "/Good.gpg", data: data, keyring: key.keyringPath))
    }

    @Test("an RSA key can be generated and signs too")
    func rsaKey() async throws {
        let key = try await TestGPGKey.generate(name: "Strata RSA Test", algorithm: .rsa3072)
        let dir = try TemporaryDirectory.make(prefix: "gpgtest")
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: dir + "/f"))
        try await key.clearsign(dir + "/f", to: dir + "/f.asc")
        #expect(try await TestGPGKey.verify(signature: dir + "/f.asc", keyring: key.keyringPath))
        let listing = try await Shell.run(
            "gpg", ["--show-keys", "--with-colons", key.keyringPath],
            environment: ["GNUPGHOME": key.home])
        #expect(listing.output.range(of: "pub:[^:]*:3072:1:", options: .regularExpression) != nil)  // RSA, 3072 bits
    }
}
