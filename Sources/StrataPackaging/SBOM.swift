// Software bills of materials of a template (docs/sbom.md): SPDX 2.3 JSON and CycloneDX 1.5 JSON,
// made from what the template's tree has installed (its package database) and the lockfiles that
// pinned those packages. Each package is named with its version, architecture, purl, the sha256
// of the package file, where it was downloaded from and, where the package says so, its declared
// license as an SPDX expression (a name SPDX does not list becomes a `LicenseRef-`, described in
// the document). Nothing is read from the clock or the environment: the creation date is the
// build's (SOURCE_DATE_EPOCH) and identifiers are derived from the lockfile's digest, so the same
// lock gives the same bytes.
//
// Specifications: https://spdx.github.io/spdx-spec/v2.3/ (SPDX 2.3) and
// https://cyclonedx.org/docs/1.5/json/ (CycloneDX 1.5); purl: github.com/package-url/purl-spec.
// Not written: file-level entries (`filesAnalyzed` is false), vulnerability data, the packages'
// own dependency edges (the template CONTAINS each package).
import Foundation
import StrataCore

/// The SBOM formats strata writes.
public enum SBOMFormat: String, Sendable, CaseIterable, Codable {
    case spdx
    case cyclonedx

    /// The file-name suffix of a document beside an output: `NAME.spdx.json`, `NAME.cdx.json`.
    public var fileSuffix: String {
        switch self {
        case .spdx: return ".spdx.json"
        case .cyclonedx: return ".cdx.json"
        }
    }

    /// The media type of the document (for the OCI artifact that carries it).
    public var mediaType: String {
        switch self {
        case .spdx: return "application/spdx+json"
        case .cyclonedx: return "application/vnd.cyclonedx+json"
        }
    }
}

/// What a packager says of one package beyond its lock entry.
public struct SBOMFacts: Sendable, Equatable {
    /// The package URL: `pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12`.
    public var purl: String
    /// The declared license as an SPDX expression, nil when the package does not say.
    public var license: SPDXLicense.Expression?
    /// Who supplies the package (Debian's Maintainer, rpm's Vendor or Packager), as written.
    public var supplier: String?
    public var homepage: String?
    /// The source package it was built from (Debian's Source, rpm's SOURCERPM), when named.
    public var sourcePackage: String?

    public init(
        purl: String, license: SPDXLicense.Expression? = nil, supplier: String? = nil, homepage: String? = nil,
        sourcePackage: String? = nil
    ) {
        self.purl = purl
        self.license = license
        self.supplier = supplier
        self.homepage = homepage
        self.sourcePackage = sourcePackage
    }
}

/// A template's bill of materials, ready to be written in either format.
public struct SBOM: Sendable {
    public struct Package: Sendable {
        public var locked: Lockfile.Package
        /// The URL it was downloaded from: its repository's URL and its path.
        public var downloadLocation: String
        public var facts: SBOMFacts

        public init(locked: Lockfile.Package, downloadLocation: String, facts: SBOMFacts) {
            self.locked = locked
            self.downloadLocation = downloadLocation
            self.facts = facts
        }
    }

    /// The template's name: `debian-12-minbase-amd64`.
    public var name: String
    /// The template's version string: `12-minbase`.
    public var version: String
    /// The build's date (SOURCE_DATE_EPOCH), the document's creation date.
    public var created: Int64
    /// The digest of the lockfile the template was built from: the document's identity.
    public var lockDigest: SHA256Digest
    public var packages: [Package]

    public init(name: String, version: String, created: Int64, lockDigest: SHA256Digest, packages: [Package]) {
        self.name = name
        self.version = version
        self.created = created
        self.lockDigest = lockDigest
        self.packages = packages.sorted {
            ($0.locked.name, $0.locked.architecture, $0.locked.version) < ($1.locked.name, $1.locked.architecture, $1.locked.version)
        }
    }

    /// The packages of a template: those `installed` names (name to version, from the tree's
    /// package database; nil: every locked package), each described by the first of `locks` that
    /// pins that name at that version (a layer's own lock first, then its base's). Dummy packages
    /// are left out: nothing was downloaded for them.
    /// - Throws: ``StrataError`` `.verificationFailed` naming an installed package no lock pins.
    public static func packages(
        installed: [String: String]?, locks: [Lockfile], facts: (Lockfile.Package, Lockfile) throws -> SBOMFacts
    ) throws -> [Package] {
        let dummies = Set(locks.flatMap { ($0.dummies ?? []).map(\.name) })
        var chosen = [Package]()
        var seen = Set<String>()
        func add(_ package: Lockfile.Package, _ lock: Lockfile) throws {
            guard seen.insert("\(package.name):\(package.architecture)").inserted else { return }
            let url = lock.repositories.first { $0.name == package.repository }?.url ?? ""
            let location = url.isEmpty ? "NOASSERTION" : (url.hasSuffix("/") ? url : url + "/") + package.path
            chosen.append(Package(locked: package, downloadLocation: location, facts: try facts(package, lock)))
        }
        guard let installed else {
            for lock in locks { for package in lock.packages { try add(package, lock) } }
            return chosen
        }
        for (name, version) in installed.sorted(by: { $0.key < $1.key }) where !dummies.contains(name) {
            let match = locks.lazy.compactMap { lock in
                lock.packages.first { $0.name == name && $0.version == version }.map { ($0, lock) }
            }.first
            guard let (package, lock) = match else {
                throw StrataError(
                    .verificationFailed,
                    "the tree has \(name) \(version) installed, which none of its lockfiles pins: "
                        + "its SBOM cannot say where it came from")
            }
            try add(package, lock)
        }
        return chosen
    }

    /// A UUID made from the lockfile's digest and `salt` (RFC 4122 version 5 layout, SHA-256 bits).
    func uuid(_ salt: String) -> String {
        var hex = Array(SHA256Digest.of(Array("\(salt):\(lockDigest.hex)".utf8)).hex.prefix(32))
        let digits = Array("0123456789abcdef")
        hex[12] = "5"
        hex[16] = digits[(digits.firstIndex(of: hex[16]) ?? 0) & 0x3 | 0x8]
        let cuts = [0, 8, 12, 16, 20, 32]
        return (0..<5).map { String(hex[cuts[$0]..<cuts[$0 + 1]]) }.joined(separator: "-")
    }

    /// The build's date in RFC 3339, UTC, to the second.
    var createdString: String {
        ISO8601DateFormatter.string(
            from: Date(timeIntervalSince1970: TimeInterval(created)), timeZone: .gmt, formatOptions: [.withInternetDateTime])
    }

    /// The document in `format`: canonical JSON (sorted keys), a trailing newline.
    public func encoded(_ format: SBOMFormat) throws -> [UInt8] {
        let object: [String: Any]
        switch format {
        case .spdx: object = spdx()
        case .cyclonedx: object = cycloneDX()
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return Array(data) + [0x0a]
    }
}
