// An rpm-md repository as strata reads it (what dnf calls a `baseurl`): `repodata/repomd.xml`,
// verified with gpgv against the template's keyring through its detached, armored signature
// `repodata/repomd.xml.asc` (dnf's `repo_gpgcheck=1`), then the `primary` metadata it names,
// fetched into the blob store and checked against the SHA-256 and size the verified repomd.xml
// states. `filelists` and `other` are not fetched: primary lists the file provides
// (`/usr/bin/*`, `/etc/*`, `*bin/*`) that packages are allowed to require.
import Foundation
import StrataCore
import StrataStore

/// An rpm-md repository with its location resolved.
public struct RpmRepositorySource: Sendable, Hashable {
    /// The template's name for the repository (`baseos`, `updates`).
    public var name: String
    /// The repository root holding `repodata/`, without a trailing slash (`http://HOST/fedora/39/x86_64/os`).
    public var baseURL: String
    /// The OpenPGP keyring that signs `repomd.xml`.
    public var keyring: String?
    /// Accept `repomd.xml` without a verified signature. Loud; never the default.
    public var trusted: Bool

    /// Creates a source; a trailing slash on `baseURL` is dropped.
    public init(name: String, baseURL: String, keyring: String?, trusted: Bool = false) {
        self.name = name
        var baseURL = baseURL
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        self.baseURL = baseURL
        self.keyring = keyring
        self.trusted = trusted
    }

    /// `<baseURL>/repodata/repomd.xml`.
    public var repomdURL: String { "\(baseURL)/repodata/repomd.xml" }
}

/// The verified indexes of one rpm-md repository.
public struct RpmRepositoryIndexes: Sendable {
    /// The `primary` metadata file, as the verified repomd.xml names it.
    public struct PrimaryFile: Sendable, Hashable {
        /// Relative to the repository root: `repodata/<hash>-primary.xml.gz`.
        public var location: String
        /// The SHA-256 of the file as stored (compressed); its blob in the store.
        public var sha256: SHA256Digest
        /// The file's size in bytes, when repomd.xml states it.
        public var size: UInt64?
        /// The SHA-256 of the decompressed XML, when repomd.xml states it as sha256.
        public var openSHA256: SHA256Digest?
        /// The decompressed size in bytes, when repomd.xml states it.
        public var openSize: UInt64?
    }

    public var source: RpmRepositorySource
    /// The digest of the `repomd.xml` that was verified and read.
    public var repomdDigest: SHA256Digest
    /// `<revision>` of repomd.xml, verbatim.
    public var revision: String?
    /// When the metadata was generated: primary's `<timestamp>`, else a numeric `<revision>`.
    public var timestamp: Date?
    public var primary: PrimaryFile
}

/// Fetches and verifies rpm-md repositories.
public struct RpmRepositoryClient: Sendable {
    let fetcher: any Fetcher

    /// - Parameter fetcher: downloads into its blob store (``HTTPFetcher`` in production).
    public init(fetcher: any Fetcher) {
        self.fetcher = fetcher
    }

    /// Fetches `repomd.xml`, verifies its signature, and fetches the primary metadata it names.
    ///
    /// - Parameter source: the repository.
    /// - Returns: the verified indexes; the primary file is in the fetcher's blob store.
    /// - Throws: ``StrataError`` `.verificationFailed` for a missing keyring, a missing or bad
    ///   signature, a primary without a SHA-256 checksum, or a primary whose digest or size differs
    ///   (nothing is stored then); `.notFound` when there is no `repomd.xml` or no primary;
    ///   `.invalidInput` for a malformed repomd.xml; `.network` for transfer failures.
    public func fetchIndexes(_ source: RpmRepositorySource) async throws -> RpmRepositoryIndexes {
        let repomdURL = source.repomdURL
        let store = fetcher.store
        let keyring = try keyring(source)
        guard let repomdDigest = try await fetcher.fetchMutable(repomdURL) else {
            throw StrataError(
                .notFound,
                "\(repomdURL): not found; is '\(source.baseURL)' the directory that holds repodata/ (for dnf's baseurl=)?"
            )
        }
        if let keyring {
            guard let signature = try await fetcher.fetchMutable("\(repomdURL).asc") else {
                throw StrataError(
                    .verificationFailed,
                    "\(repomdURL) is not signed (no repomd.xml.asc); set `trusted: true` for repository '\(source.name)' only if you accept unverified packages"
                )
            }
            try ResultCache(store: store).verifyDetached(
                repomdDigest, signature: signature, keyring: keyring, what: repomdURL)
        } else {
            Diagnostics.warning("repository '\(source.name)' is marked trusted: \(repomdURL) is NOT verified")
        }

        let repomd = try RepomdFile(bytes: FileReader.readAll(store.path(of: repomdDigest)), what: repomdURL)
        let primary = try primaryFile(repomd, what: repomdURL)
        _ = try await fetcher.fetch(
            "\(source.baseURL)/\(primary.location)", expected: primary.sha256, size: primary.size)

        let entry = repomd.entries["primary"]
        let timestamp = entry?.timestamp ?? repomd.revision.flatMap(Double.init).map(Date.init(timeIntervalSince1970:))
        return RpmRepositoryIndexes(
            source: source, repomdDigest: repomdDigest, revision: repomd.revision, timestamp: timestamp,
            primary: primary)
    }

    /// The keyring to verify with, or `nil` for a trusted repository.
    private func keyring(_ source: RpmRepositorySource) throws -> String? {
        if source.trusted { return nil }
        guard let keyring = source.keyring else {
            throw StrataError(
                .verificationFailed,
                "repository '\(source.name)' names no keyring; set `keyring:` in the template (or `trusted: true`, which skips verification)"
            )
        }
        return keyring
    }

    private func primaryFile(_ repomd: RepomdFile, what: String) throws -> RpmRepositoryIndexes.PrimaryFile {
        guard let entry = repomd.entries["primary"] else {
            let types = repomd.entries.keys.sorted().joined(separator: ", ")
            throw StrataError(
                .notFound, "\(what) names no primary metadata (it has: \(types.isEmpty ? "nothing" : types))")
        }
        guard let checksum = entry.checksum, checksum.type == "sha256" else {
            throw StrataError(
                .verificationFailed,
                "\(what): primary has a \(entry.checksum?.type ?? "missing") checksum, not sha256; strata does not trust sha1 or md5 (regenerate the repository with createrepo_c, whose default is sha256)"
            )
        }
        let sha256 = try digest(checksum.hex, what: "\(what): primary <checksum>")
        let openSHA256 = try entry.openChecksum.flatMap { open in
            open.type == "sha256" ? try digest(open.hex, what: "\(what): primary <open-checksum>") : nil
        }
        return .init(
            location: entry.location, sha256: sha256, size: entry.size, openSHA256: openSHA256,
            openSize: entry.openSize)
    }

    private func digest(_ hex: String, what: String) throws -> SHA256Digest {
        do {
            return try SHA256Digest(hex: hex)
        } catch {
            throw StrataError(.invalidInput, "\(what) '\(hex)' is not a SHA-256 digest")
        }
    }
}
