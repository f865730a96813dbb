// Signature checks with gpgv, as apt and debootstrap do: a keyring file (binary, or ASCII-armored
// which we dearmor first) and gpgv's machine-readable status lines, of which we require a
// VALIDSIG and none of BADSIG, ERRSIG, EXPKEYSIG, REVKEYSIG, EXPSIG. gpgv keeps no state.
import Foundation

public enum OpenPGP {
    /// Verifies a clearsigned file (`InRelease`) and returns the signed text only: whatever
    /// stands outside the signature is never returned.
    /// - Throws: ``StrataError`` `.verificationFailed` naming `what` and gpgv's reason.
    public static func verifyClearsigned(_ path: String, keyring: String, what: String) throws -> [UInt8] {
        try withBinaryKeyring(keyring) { keyringPath in
            try runGpgv(["--keyring", keyringPath, "--output", "-", path], what: what, keyring: keyring).stdout
        }
    }

    /// Verifies a detached signature (`Release.gpg`, `repomd.xml.asc`) over `path`.
    public static func verifyDetached(_ path: String, signature: String, keyring: String, what: String) throws {
        try withBinaryKeyring(keyring) { keyringPath in
            _ = try runGpgv(["--keyring", keyringPath, signature, path], what: what, keyring: keyring)
        }
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

    /// gpgv reads binary keyrings only; an armored one is dearmored into a file of this
    /// process's own (created exclusively, mode 0600, removed afterwards), never into a name in a
    /// shared directory that another user could have made first.
    private static func withBinaryKeyring<T>(_ keyring: String, _ body: (String) throws -> T) throws -> T {
        guard FileManager.default.isReadableFile(atPath: keyring) else {
            throw StrataError(.notFound, "keyring \(keyring) does not exist or cannot be read")
        }
        let head = (try? FileReader.readAll(keyring).prefix(32)) ?? []
        guard head.starts(with: Array("-----BEGIN".utf8)) else { return try body(keyring) }
        guard let gpg = Command.which("gpg") else {
            throw StrataError(.toolFailed, "\(keyring) is ASCII-armored; dearmoring it needs gpg (apt-get install gpg)")
        }
        let out = try Command.runBlocking(gpg, ["--dearmor", "--output", "-", keyring])
        guard out.status == 0 else { throw StrataError(.invalidInput, "\(keyring): cannot dearmor: \(out.stderr)") }
        var template = Array((NSTemporaryDirectory() + "strata-keyring.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw StrataError(.io, "cannot create a file for the dearmored \(keyring)") }
        let path = String(cString: template)
        defer { unlink(path) }
        let written = out.stdout.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == out.stdout.count else { throw StrataError(.io, "cannot write the dearmored \(keyring) to \(path)") }
        return try body(path)
    }
}
