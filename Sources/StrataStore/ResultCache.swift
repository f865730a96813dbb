// Results the store keeps so that work whose inputs it has seen is not done again:
//
//   cache/verified/<signed hex>.<keyring hex>.clearsigned          the text a good signature covers
//   cache/verified/<signed hex>.<signature hex>.<keyring hex>.detached   empty: the signature was good
//   cache/locks/<key hex>.json                                     a lockfile, by what it was resolved from
//   cache/sboms/<key hex>.json                                     an SBOM document, by what it was made from
//
// A verification is keyed by the exact bytes of the signed file, the signature and the keyring, so
// a new InRelease, a changed keyring (a key revoked or added) or another signature is verified
// again; what a cached one cannot notice is a key that expired since (documented in
// docs/lockfile.md). The expiry dates inside a signed file (Valid-Until) are checked by its reader
// every time. Entries are written under tmp/ and renamed, so a reader sees all or nothing; gc
// removes verifications whose signed blob is gone and locks not used for `logAge`.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public struct ResultCache: Sendable {
    let blobs: BlobStore

    public init(store: BlobStore) { blobs = store }

    var verifiedDirectory: String { "\(blobs.root)/cache/verified" }
    var locksDirectory: String { "\(blobs.root)/cache/locks" }
    var sbomsDirectory: String { "\(blobs.root)/cache/sboms" }

    // MARK: Signatures

    /// The signed text of the clearsigned blob `signed`, verified with `keyring` now or before.
    /// - Throws: what ``OpenPGP/verifyClearsigned(_:keyring:what:)`` throws.
    public func verifiedClearsigned(_ signed: SHA256Digest, keyring: String, what: String) throws -> [UInt8] {
        let path = "\(verifiedDirectory)/\(signed.hex).\(try keyringDigest(keyring).hex).clearsigned"
        if let text = try? FileReader.readAll(path) { return text }
        let text = try OpenPGP.verifyClearsigned(blobs.path(of: signed), keyring: keyring, what: what)
        try? blobs.replace(path, with: text, hint: "verified")
        return text
    }

    /// Verifies the detached `signature` over the blob `signed` with `keyring`, unless this exact
    /// triple verified before.
    /// - Throws: what ``OpenPGP/verifyDetached(_:signature:keyring:what:)`` throws.
    public func verifyDetached(_ signed: SHA256Digest, signature: SHA256Digest, keyring: String, what: String) throws {
        let path = "\(verifiedDirectory)/\(signed.hex).\(signature.hex).\(try keyringDigest(keyring).hex).detached"
        if access(path, F_OK) == 0 { return }
        try OpenPGP.verifyDetached(
            blobs.path(of: signed), signature: blobs.path(of: signature), keyring: keyring, what: what)
        try? blobs.replace(path, with: [], hint: "verified")
    }

    private func keyringDigest(_ keyring: String) throws -> SHA256Digest {
        do {
            return try SHA256Digest.of(file: keyring)
        } catch {
            throw StrataError(.notFound, "keyring \(keyring) does not exist or cannot be read")
        }
    }

    // MARK: Locks

    /// The lockfile saved under `key`, or nil.
    public func lock(_ key: SHA256Digest) -> [UInt8]? {
        let path = "\(locksDirectory)/\(key.hex).json"
        guard let bytes = try? FileReader.readAll(path) else { return nil }
        utimes(path, nil)  // used now: gc keeps what is used
        return bytes
    }

    public func saveLock(_ bytes: [UInt8], key: SHA256Digest) throws {
        try blobs.replace("\(locksDirectory)/\(key.hex).json", with: bytes, hint: "lock")
    }

    /// The SBOM document saved under `key`, or nil.
    public func sbom(_ key: SHA256Digest) -> [UInt8]? {
        let path = "\(sbomsDirectory)/\(key.hex).json"
        guard let bytes = try? FileReader.readAll(path) else { return nil }
        utimes(path, nil)  // used now: gc keeps what is used
        return bytes
    }

    public func saveSBOM(_ bytes: [UInt8], key: SHA256Digest) throws {
        try blobs.replace("\(sbomsDirectory)/\(key.hex).json", with: bytes, hint: "sbom")
    }

    /// Removes verifications whose signed blob is gone, and locks and SBOMs not used since `cutoff`
    /// (seconds since the epoch); returns how many files and bytes went.
    func collect(unusedSince cutoff: Int) throws -> (files: Int, bytes: UInt64) {
        var files = 0
        var bytes: UInt64 = 0
        func remove(_ path: String) throws {
            bytes += UInt64(try FileSystem.status(path)?.st_size ?? 0)
            _ = try FileSystem.remove(path)
            files += 1
        }
        for name in try FileSystem.names(in: verifiedDirectory) {
            let signed = name.split(separator: ".").first.flatMap { try? SHA256Digest(hex: String($0)) }
            if signed.map(blobs.contains) != true { try remove("\(verifiedDirectory)/\(name)") }
        }
        for directory in [locksDirectory, sbomsDirectory] {
            for name in try FileSystem.names(in: directory) {
                let path = "\(directory)/\(name)"
                if let st = try FileSystem.status(path), st.st_mtim.tv_sec < cutoff { try remove(path) }
            }
        }
        return (files, bytes)
    }
}
