// A throwaway OpenPGP signing key, made with the real gpg in a temporary GNUPGHOME, to sign
// fixture repositories the way Debian and Fedora sign theirs: InRelease (clearsigned),
// Release.gpg (detached, binary) and repomd.xml.asc (detached, armored). The public half is
// exported as a binary keyring, the form `gpgv --keyring FILE` and apt's `Signed-By:` accept.
import Foundation
import StrataCore

/// An unprotected signing key in its own temporary GNUPGHOME.
public struct TestGPGKey: Sendable, Hashable {
    /// The key type to generate.
    public enum Algorithm: String, Sendable, Hashable {
        /// EdDSA over Curve25519: fast to generate (about 0.1 s).
        case ed25519
        /// RSA 3072, the form most distribution keys still have (about a second to generate).
        case rsa3072
    }

    /// The GNUPGHOME holding the secret key.
    public let home: String
    /// The user ID, `Name <email>`.
    public let userID: String
    /// The primary key's fingerprint, 40 uppercase hex digits.
    public let fingerprint: String
    /// A binary (non-armored) keyring holding only the public key.
    public let keyringPath: String
    /// The same public key, ASCII-armored (what `rpm --import` takes).
    public let armoredPublicKeyPath: String

    /// Generates a key with no passphrase.
    ///
    /// - Parameters:
    ///   - name: the user ID's name part; also names the temporary directory.
    ///   - algorithm: the key type.
    /// - Returns: the key, its home removed when the process exits.
    /// - Throws: ``StrataError`` `.toolFailed` when gpg fails.
    public static func generate(name: String = "Strata Test Archive", algorithm: Algorithm = .ed25519) async throws
        -> TestGPGKey
    {
        let home = try TemporaryDirectory.make(prefix: "gpg")
        let email = name.lowercased().filter { $0.isLetter || $0.isNumber } + "@strata.invalid"
        let userID = "\(name) <\(email)>"
        try await gpg(
            home: home,
            ["--passphrase", "", "--quick-generate-key", userID, algorithm.rawValue, "sign", "never"])
        let listing = try await gpg(home: home, ["--with-colons", "--fingerprint", "--list-keys", userID])
        guard
            let fprLine = listing.output.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") }),
            let fingerprint = fprLine.split(separator: ":", omittingEmptySubsequences: false).dropFirst(9).first,
            fingerprint.count == 40
        else { throw StrataError(.toolFailed, "gpg listed no fingerprint for '\(userID)':\n\(listing.output)") }
        let keyringPath = home + "/public-keyring.gpg"
        let armoredPath = home + "/public-key.asc"
        try await gpg(home: home, ["--yes", "--output", keyringPath, "--export", String(fingerprint)])
        try await gpg(home: home, ["--yes", "--armor", "--output", armoredPath, "--export", String(fingerprint)])
        return TestGPGKey(
            home: home, userID: userID, fingerprint: String(fingerprint), keyringPath: keyringPath,
            armoredPublicKeyPath: armoredPath)
    }

    /// Writes `input` clearsigned to `output` (an `InRelease` from a `Release`).
    /// - Throws: ``StrataError`` `.toolFailed` when gpg fails.
    public func clearsign(_ input: String, to output: String) async throws {
        try await sign(["--digest-algo", "SHA512", "--clearsign"], input, output)
    }

    /// Writes a detached signature of `input` to `output`: binary (`Release.gpg`) or armored
    /// (`repomd.xml.asc`).
    /// - Throws: ``StrataError`` `.toolFailed` when gpg fails.
    public func detachSign(_ input: String, to output: String, armored: Bool = false) async throws {
        try await sign(["--digest-algo", "SHA512"] + (armored ? ["--armor"] : []) + ["--detach-sign"], input, output)
    }

    private func sign(_ mode: [String], _ input: String, _ output: String) async throws {
        try await Self.gpg(home: home, ["--yes", "--local-user", fingerprint, "--output", output] + mode + [input])
    }

    /// Checks a signature with `gpgv` against a binary keyring, as apt does.
    ///
    /// - Parameters:
    ///   - signature: a clearsigned file, or a detached signature (binary or armored).
    ///   - data: the signed file when `signature` is detached.
    ///   - keyring: a binary keyring such as ``keyringPath``.
    /// - Returns: `true` when gpgv reports a good signature by a key in `keyring`.
    /// - Throws: ``StrataError`` `.notFound` when gpgv is missing.
    public static func verify(signature: String, data: String? = nil, keyring: String) async throws -> Bool {
        let result = try await Shell.run(
            "gpgv", ["--keyring", keyring, signature] + (data.map { [$0] } ?? []),
            unsetting: ["GNUPGHOME"], check: false)
        return result.exitCode == 0
    }

    @discardableResult
    private static func gpg(home: String, _ arguments: [String]) async throws -> ShellResult {
        try await Shell.run(
            "gpg", ["--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "loopback"] + arguments,
            environment: ["GNUPGHOME": home], timeout: .seconds(60))
    }
}

extension TestGPGKey {
    private static let sharedArchiveKey = Task { try await generate(name: "Strata Test Archive") }
    private static let sharedUnrelatedKey = Task { try await generate(name: "Strata Unrelated Signer") }

    /// The key every shared fixture repository is signed with, made once per test process.
    /// - Throws: ``StrataError`` `.toolFailed` when gpg fails.
    public static func archive() async throws -> TestGPGKey { try await sharedArchiveKey.value }

    /// A second key that signs nothing shared: for "signed by a key the keyring does not hold".
    /// - Throws: ``StrataError`` `.toolFailed` when gpg fails.
    public static func unrelated() async throws -> TestGPGKey { try await sharedUnrelatedKey.value }
}
