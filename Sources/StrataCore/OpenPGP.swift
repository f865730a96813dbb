// Signature checks with gpgv, as apt and debootstrap do: a keyring file (binary, or ASCII-armored
// which we dearmor first) and gpgv's machine-readable status lines, of which we require a
// VALIDSIG and none of BADSIG, ERRSIG, EXPKEYSIG, REVKEYSIG, EXPSIG. gpgv keeps no state.
import Foundation

public enum OpenPGP {
    /// Verifies a clearsigned file (`InRelease`) and returns the signed text only: whatever
    /// stands outside the signature is never returned.
    /// - Throws: ``StrataError`` `.verificationFailed` naming `what` and gpgv's reason.
    public static func verifyClearsigned(_ path: String, keyring: String, what: String) throws -> [UInt8] {
        let keyringPath = try binaryKeyring(keyring)
        let out = try runGpgv(["--keyring", keyringPath, "--output", "-", path], what: what, keyring: keyring)
        return out.stdout
    }

    /// Verifies a detached signature (`Release.gpg`, `repomd.xml.asc`) over `path`.
    public static func verifyDetached(_ path: String, signature: String, keyring: String, what: String) throws {
        let keyringPath = try binaryKeyring(keyring)
        _ = try runGpgv(["--keyring", keyringPath, signature, path], what: what, keyring: keyring)
    }

    private static func runGpgv(_ arguments: [String], what: String, keyring: String) throws -> Command.Output {
        guard let gpgv = Command.which("gpgv") else {
            throw StrataError(.toolFailed, "gpgv is not installed (apt-get install gpgv)")
        }
        // Status lines go to stderr alongside messages (fd 2); stdout carries the signed data.
        let output = try Command.runBlocking(gpgv, ["--status-fd", "2"] + arguments)
        let status = output.stderr.split(separator: "\n").filter { $0.hasPrefix("[GNUPG:] ") }
        let bad = ["BADSIG", "ERRSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG", "NO_PUBKEY"]
        let reasons = status.compactMap { line -> String? in
            let word = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            return bad.contains(word) ? String(line.dropFirst(9)) : nil
        }
        let valid = status.contains { $0.hasPrefix("[GNUPG:] VALIDSIG ") }
        guard output.status == 0, valid, reasons.isEmpty else {
            let why = reasons.isEmpty
                ? output.stderr.split(separator: "\n").filter { !$0.hasPrefix("[GNUPG:]") }.joined(separator: "; ")
                : reasons.joined(separator: "; ")
            throw StrataError(
                .verificationFailed, "\(what): signature not valid with keyring \(keyring): \(why.isEmpty ? "no valid signature" : why)")
        }
        return output
    }

    /// gpgv reads binary keyrings only; an armored one is converted once into a cache beside /tmp.
    private static func binaryKeyring(_ keyring: String) throws -> String {
        guard FileManager.default.isReadableFile(atPath: keyring) else {
            throw StrataError(.notFound, "keyring \(keyring) does not exist or cannot be read")
        }
        let head = (try? FileReader.readAll(keyring).prefix(32)) ?? []
        guard head.starts(with: Array("-----BEGIN".utf8)) else { return keyring }
        guard let gpg = Command.which("gpg") else {
            throw StrataError(.toolFailed, "\(keyring) is ASCII-armored; dearmoring it needs gpg (apt-get install gpg)")
        }
        let out = try Command.runBlocking(gpg, ["--dearmor", "--output", "-", keyring])
        guard out.status == 0 else { throw StrataError(.invalidInput, "\(keyring): cannot dearmor: \(out.stderr)") }
        let path = NSTemporaryDirectory() + "strata-keyring-\(SHA256Digest.of(out.stdout).hex.prefix(16)).gpg"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(out.stdout))
        }
        return path
    }
}
