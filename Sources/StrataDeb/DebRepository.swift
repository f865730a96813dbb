// A Debian repository as strata reads it: `dists/<suite>/InRelease` (or `Release` with
// `Release.gpg`), verified with gpgv against the template's keyring, then for each component
// `<component>/binary-<arch>/Packages.xz` (else `.gz`, else plain), fetched by hash when the
// Release says `Acquire-By-Hash: yes`, and checked against the digest and size the verified
// Release names. Architecture `all` packages are taken from `binary-<arch>`, where Debian's
// archive lists them too.
import Foundation
import StrataCore
import StrataStore

/// A repository with its location resolved (mirror roles replaced by URLs).
public struct DebRepositorySource: Sendable, Hashable {
    public var name: String
    /// The archive root, without a trailing slash (`http://HOST/debian`).
    public var url: String
    public var suite: String
    public var components: [String]
    public var keyring: String?
    public var trusted: Bool

    public init(name: String, url: String, suite: String, components: [String], keyring: String?, trusted: Bool) {
        self.name = name
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.suite = suite
        self.components = components
        self.keyring = keyring
        self.trusted = trusted
    }
}

/// The verified indexes of one repository.
public struct DebRepositoryIndexes: Sendable {
    public struct PackagesFile: Sendable, Hashable {
        public var component: String
        /// Relative to `dists/<suite>/`: `main/binary-amd64/Packages.xz`.
        public var path: String
        public var sha256: SHA256Digest
        public var size: UInt64
    }

    public var source: DebRepositorySource
    /// `dists/<suite>/InRelease` (or `Release`), and the digest of what was fetched.
    public var releasePath: String
    public var releaseDigest: SHA256Digest
    public var release: ReleaseFile
    public var packages: [PackagesFile]
}

public struct DebRepositoryClient: Sendable {
    let fetcher: any Fetcher
    let architecture: Architecture
    let now: @Sendable () -> Date

    public init(fetcher: any Fetcher, architecture: Architecture, now: @escaping @Sendable () -> Date = { Date() }) {
        self.fetcher = fetcher
        self.architecture = architecture
        self.now = now
    }

    /// Fetches and verifies the indexes of `source`.
    /// - Throws: ``StrataError`` `.verificationFailed` for a bad or missing signature, an expired
    ///   Release, a suite mismatch or an index whose digest differs; `.notFound` for a missing suite
    ///   or component.
    public func fetchIndexes(_ source: DebRepositorySource) async throws -> DebRepositoryIndexes {
        let dists = "\(source.url)/dists/\(source.suite)"
        let store = fetcher.store
        var releasePath = "dists/\(source.suite)/InRelease"
        let releaseText: [UInt8]
        let releaseDigest: SHA256Digest
        if let inRelease = try await fetcher.fetchMutable("\(dists)/InRelease") {
            releaseDigest = inRelease
            releaseText = try verifiedText(clearsigned: inRelease, source: source, what: "\(dists)/InRelease")
        } else {
            guard let release = try await fetcher.fetchMutable("\(dists)/Release") else {
                throw StrataError(.notFound, "\(dists): no InRelease or Release (is suite '\(source.suite)' right?)")
            }
            releasePath = "dists/\(source.suite)/Release"
            releaseDigest = release
            releaseText = try FileReader.readAll(store.path(of: release))
            if !source.trusted {
                guard let signature = try await fetcher.fetchMutable("\(dists)/Release.gpg") else {
                    throw StrataError(.verificationFailed, "\(dists)/Release is not signed (no Release.gpg)")
                }
                try ResultCache(store: store).verifyDetached(
                    release, signature: signature, keyring: try keyring(source), what: "\(dists)/Release")
            }
        }
        let what = "\(source.url)/\(releasePath)"
        let release = try ReleaseFile(text: String(decoding: releaseText, as: UTF8.self), what: what)
        try check(release, source: source, what: what)

        var packages = [DebRepositoryIndexes.PackagesFile]()
        for component in source.components {
            let base = "\(component)/binary-\(architecture.debian)/Packages"
            guard let entry = [".xz", ".gz", ""].lazy.compactMap({ release.files[base + $0] }).first else {
                throw StrataError(
                    .notFound,
                    "\(what) lists no \(base)(.xz|.gz): component '\(component)' or architecture '\(architecture)' is not in this suite")
            }
            let directory = (entry.path as NSString).deletingLastPathComponent
            let url = release.acquireByHash
                ? "\(dists)/\(directory)/by-hash/SHA256/\(entry.sha256.hex)" : "\(dists)/\(entry.path)"
            do {
                _ = try await fetcher.fetch(url, expected: entry.sha256, size: entry.size)
            } catch let error as StrataError {
                throw StrataError(error.code, "\(source.name) \(source.suite) \(entry.path): \(error.message)")
            }
            packages.append(.init(component: component, path: entry.path, sha256: entry.sha256, size: entry.size))
        }
        return DebRepositoryIndexes(
            source: source, releasePath: releasePath, releaseDigest: releaseDigest, release: release,
            packages: packages)
    }

    private func keyring(_ source: DebRepositorySource) throws -> String {
        guard let keyring = source.keyring else {
            throw StrataError(
                .verificationFailed,
                "repository '\(source.name)' names no keyring; set `keyring:` in the template (or `trusted: true`, which skips verification)")
        }
        return keyring
    }

    /// The signed text of a clearsigned blob, verified now or (the same bytes, the same keyring) before.
    private func verifiedText(clearsigned blob: SHA256Digest, source: DebRepositorySource, what: String) throws -> [UInt8] {
        let store = fetcher.store
        if source.trusted {
            Diagnostics.warning("repository '\(source.name)' is marked trusted: \(what) is NOT verified")
            return try stripClearsign(FileReader.readAll(store.path(of: blob)), what: what)
        }
        return try ResultCache(store: store).verifiedClearsigned(blob, keyring: try keyring(source), what: what)
    }

    /// The text between the clearsign header and the signature, for trusted repositories only.
    private func stripClearsign(_ bytes: [UInt8], what: String) throws -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("-----BEGIN PGP SIGNED MESSAGE-----") else { return bytes }
        guard let bodyStart = text.range(of: "\n\n"), let sigStart = text.range(of: "\n-----BEGIN PGP SIGNATURE-----")
        else { throw StrataError(.invalidInput, "\(what): malformed clearsigned file") }
        return Array(text[bodyStart.upperBound..<sigStart.lowerBound].utf8) + [0x0a]
    }

    private func check(_ release: ReleaseFile, source: DebRepositorySource, what: String) throws {
        guard release.suite == source.suite || release.codename == source.suite else {
            throw StrataError(
                .verificationFailed,
                "\(what) is for suite '\(release.suite ?? "?")' / codename '\(release.codename ?? "?")', not '\(source.suite)'")
        }
        if let validUntil = release.validUntil, validUntil < now() {
            throw StrataError(.verificationFailed, "\(what) expired on \(validUntil) (Valid-Until); the mirror is stale")
        }
    }
}
