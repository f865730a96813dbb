// SBOMs (SBOM.swift, Stages/SBOMStage.swift), checked with the reference validators from PyPI
// (spdx-tools' pyspdxtools, cyclonedx-python-lib's strict validator): license fields as SPDX
// expressions, a document that each validator accepts and one each refuses, the RPM fixture
// template's and the real debian/12 minbase's documents: valid, the lock's packages exactly, the
// same bytes from the build, from `show --sbom` (the commit) and from a second build; and a
// layer's document is its base's packages plus the layered ones.
import Foundation
@testable import StrataBuild
import StrataCore
@testable import StrataDeb
import StrataFetch
import StrataPackaging
@testable import StrataRPM
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("SBOMs of templates")
struct SBOMTests {
    @Test("license fields become SPDX expressions: DEP-5 names, old Fedora names, commas, exceptions, unknown names")
    func licenseExpressions() {
        let deb = DebPackager.licenseAliases
        #expect(SPDXLicense.expression("GPL-2+", aliases: deb)?.text == "GPL-2.0-or-later")
        #expect(SPDXLicense.expression("Expat", aliases: deb)?.text == "MIT")
        #expect(SPDXLicense.expression("bsd-3-clause", aliases: deb)?.text == "BSD-3-Clause")
        #expect(
            SPDXLicense.expression("GPL-2+ or Artistic, and BSD-3-clause", aliases: deb)?.text
                == "(GPL-2.0-or-later OR Artistic-1.0-Perl) AND BSD-3-Clause")
        let exception = SPDXLicense.expression("GPL-2+ with OpenSSL exception", aliases: deb)
        #expect(exception?.text == "LicenseRef-GPL-2-plus-with-OpenSSL-exception")
        #expect(exception?.references["LicenseRef-GPL-2-plus-with-OpenSSL-exception"]?.name == "GPL-2+ with OpenSSL exception")
        #expect(SPDXLicense.expression("public-domain", aliases: deb)?.text == "LicenseRef-public-domain")
        #expect(SPDXLicense.expression("LGPLv2+ and (MIT or ASL 2.0)", aliases: RpmPackager.licenseAliases)?.text
            == "LGPL-2.1-or-later AND (MIT OR Apache-2.0)")
        #expect(SPDXLicense.expression("GPL-2.0-or-later AND MIT", aliases: [:])?.text == "GPL-2.0-or-later AND MIT")
        // What does not parse is one reference of its whole text, never a broken expression.
        #expect(SPDXLicense.expression("GPL-2+ or", aliases: deb)?.text == "LicenseRef-GPL-2-plus-or")
        #expect(SPDXLicense.expression("(MIT", aliases: deb)?.text == "LicenseRef--MIT")
        #expect(SPDXLicense.expression("  ", aliases: deb) == nil)
        let all = SPDXLicense.all([
            SPDXLicense.Expression(text: "MIT"), SPDXLicense.Expression(text: "GPL-2.0-or-later OR MIT"),
            SPDXLicense.Expression(text: "MIT"),
        ])
        #expect(all?.text == "MIT AND (GPL-2.0-or-later OR MIT)")
    }

    @Test("a DEP-5 copyright declares the licenses of its paragraphs, with the texts of stand-alone ones; a free-form one declares none")
    func dep5() {
        let copyright = """
            Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
            Upstream-Name: example

            Files: *
            Copyright: 2020 Someone
            License: GPL-2+

            Files: lib/*
            Copyright: 2021 Someone Else
            License: Expat or Zlib

            Files: debian/*
            License: GPL-2+

            License: Zlib
             This software is provided 'as-is'.
             .
             Altered versions must be plainly marked.

            License: Special-1
             Do what you like.
            """
        let declared = DebPackager.declaredLicense(copyright: copyright)
        #expect(declared?.text == "GPL-2.0-or-later AND (MIT OR Zlib)")
        #expect(declared?.references.isEmpty == true)
        let special = DebPackager.declaredLicense(copyright: "Format: x\n\nFiles: *\nLicense: Special-1\n\nLicense: Special-1\n Do what you like.\n")
        #expect(special?.text == "LicenseRef-Special-1")
        #expect(special?.references["LicenseRef-Special-1"]?.text == "Do what you like.")
        #expect(DebPackager.declaredLicense(copyright: "This package was debianized by someone.\nIt is GPL.\n") == nil)
    }

    /// A document of two packages: one with a known license, one with a reference and a supplier.
    static func sample() -> SBOM {
        let digest = SHA256Digest.of(Array("lock".utf8))
        func package(_ name: String, _ version: String, license: String?, supplier: String?) -> SBOM.Package {
            let locked = Lockfile.Package(
                name: name, version: version, architecture: "amd64", repository: "main",
                path: "pool/main/\(name)_\(version)_amd64.deb", sha256: SHA256Digest.of(Array(name.utf8)), size: 10)
            return SBOM.Package(
                locked: locked, downloadLocation: "http://deb.example.org/debian/\(locked.path)",
                facts: SBOMFacts(
                    purl: SBOM.purl(type: "deb", namespace: "debian", name: name, version: version, qualifiers: [("arch", "amd64")]),
                    license: license.flatMap { SPDXLicense.expression($0, aliases: DebPackager.licenseAliases) },
                    supplier: supplier, homepage: "https://example.org/\(name)"))
        }
        return SBOM(
            name: "debian-12-minbase-amd64", version: "12-minbase", created: 1_700_000_000, lockDigest: digest,
            packages: [
                package("libstdc++6", "12.2.0-14", license: "GPL-3+ with GCC exception", supplier: "Debian GCC Maintainers <gcc@example.org>"),
                package("base-files", "12.4+deb12u5", license: "GPL-2+ or Artistic", supplier: nil),
            ])
    }

    @Test("both validators accept strata's documents, and each refuses one that is wrong", .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/python3")))
    func validatorsAcceptAndRefuse() async throws {
        let dir = try TemporaryDirectory.make(prefix: "strata-sbom")
        let sbom = Self.sample()
        let spdx = try sbom.encoded(.spdx)
        try Data(spdx).write(to: URL(fileURLWithPath: "\(dir)/a.spdx.json"))
        try Data(try sbom.encoded(.cyclonedx)).write(to: URL(fileURLWithPath: "\(dir)/a.cdx.json"))
        try await SBOMValidators.spdx("\(dir)/a.spdx.json")
        try await SBOMValidators.cycloneDX("\(dir)/a.cdx.json")
        #expect(String(decoding: spdx, as: UTF8.self).contains("pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64"))
        #expect(try sbom.encoded(.spdx) == spdx, "the same SBOM, other bytes")

        // Without the description of its LicenseRef, SPDX is refused; CycloneDX without a version too.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(spdx)) as? [String: Any])
        object.removeValue(forKey: "hasExtractedLicensingInfos")
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: "\(dir)/b.spdx.json"))
        await #expect(throws: StrataError.self) { try await SBOMValidators.spdx("\(dir)/b.spdx.json") }
        var cdx = try #require(try JSONSerialization.jsonObject(with: Data(try sbom.encoded(.cyclonedx))) as? [String: Any])
        cdx["specVersion"] = 1.5
        try JSONSerialization.data(withJSONObject: cdx).write(to: URL(fileURLWithPath: "\(dir)/b.cdx.json"))
        await #expect(throws: StrataError.self) { try await SBOMValidators.cycloneDX("\(dir)/b.cdx.json") }
    }

    @Test("the RPM fixture template: SPDX and CycloneDX beside the output, valid, the lock's packages with rpm purls and the headers' licenses")
    func rpmTemplate() async throws {
        let distribution = try await RpmFixtureRepo.distribution()
        let repo = distribution.repository
        try await LoopbackHTTPServer.withServer(serving: try RpmBuildTests.mirror(repo)) { server in
            let templates = try RpmBuildTests.tree(keyring: repo.key?.keyringPath, list: "filesystem\nbusybox\n")
            let work = try TemporaryDirectory.make(prefix: "strata-rpm-sbom")
            let built = try await RpmBuildTests.build(
                templates, mirror: server.baseURL, output: "\(work)/minimal.tar", sbom: [.spdx, .cyclonedx])
            try await SBOMValidators.spdx("\(work)/minimal.spdx.json")
            try await SBOMValidators.cycloneDX("\(work)/minimal.cdx.json")
            let document = try Self.read("\(work)/minimal.spdx.json")
            let packages = Self.packages(document)
            #expect(packages.map(\.name) == built.lock.packages.map(\.name).sorted())
            let locked = Dictionary(uniqueKeysWithValues: built.lock.packages.map { ($0.name, $0) })
            for package in packages {
                #expect(package.sha256 == locked[package.name]?.sha256.hex, "\(package.name)")
                #expect(package.purl.hasPrefix("pkg:rpm/fixture-el/\(package.name)@"), "\(package.purl)")
                #expect(package.license == "MIT", "\(package.name): \(package.license)")
            }
            // A repository at an address, not a name: SPDX's validators refuse it as a download
            // location, so the package's comment names it instead.
            let busybox = try #require((document["packages"] as? [[String: Any]])?.first { $0["name"] as? String == "busybox" })
            #expect(busybox["downloadLocation"] as? String == "NOASSERTION")
            let url = try #require(built.lock.repositories.first?.url)
            #expect((busybox["comment"] as? String)?.hasPrefix("downloaded from \(url)/") == true, "\(busybox)")
        }
    }

    /// The packages of an SPDX document but the template: name, version, sha256, purl, license.
    static func packages(_ document: [String: Any]) -> [(name: String, version: String, sha256: String, purl: String, license: String)] {
        ((document["packages"] as? [[String: Any]]) ?? []).filter { $0["SPDXID"] as? String != "SPDXRef-Template" }.map { package in
            let checksum = (package["checksums"] as? [[String: String]])?.first?["checksumValue"] ?? ""
            let purl = (package["externalRefs"] as? [[String: String]])?.first?["referenceLocator"] ?? ""
            return (
                package["name"] as? String ?? "", package["versionInfo"] as? String ?? "", checksum, purl,
                package["licenseDeclared"] as? String ?? ""
            )
        }
    }

    static func read(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }
}

@Suite("SBOM of the real debian/12 minbase", .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct RealSBOMTests {
    @Test("valid SPDX and CycloneDX; the lock's packages with their sha256, Debian purls and the DEP-5 licenses; the same bytes from the build, show --sbom and a rebuild")
    func minbase() async throws {
        let served = try await LocalMirror.shared.minbase()
        let dir = try TemporaryDirectory.make(prefix: "strata-real-sbom")
        let store = try Store(root: "\(dir)/store")
        var builder = Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs), packagers: .testing)
        builder.sbomFormats = [.spdx, .cyclonedx]
        let spec = try TemplateTree(root: BuildFixture.templates).load(
            target: "debian/12", set: "minbase", architecture: Architecture("amd64"))
        // The lock as made against the mirror, fetched from the loopback copy: the SBOM names
        // where the lock says the packages come from.
        let urls = Dictionary(uniqueKeysWithValues: served.localLock.repositories.map { ($0.name, $0.url) })
        let lock = served.lock
        let built = try await builder.build(
            spec: spec, lock: lock, output: "\(dir)/minbase.tar.zst", format: .tar(.zstd), urls: urls)
        try await SBOMValidators.spdx("\(dir)/minbase.spdx.json")
        try await SBOMValidators.cycloneDX("\(dir)/minbase.cdx.json")

        let document = try SBOMTests.read("\(dir)/minbase.spdx.json")
        let packages = SBOMTests.packages(document)
        #expect(packages.map { "\($0.name) \($0.version) \($0.sha256)" }
            == lock.packages.map { "\($0.name) \($0.version) \($0.sha256.hex)" }.sorted())
        let dpkg = try #require(packages.first { $0.name == "dpkg" })
        #expect(dpkg.purl == "pkg:deb/debian/dpkg@\(dpkg.version)?arch=amd64&distro=debian-12", "\(dpkg.purl)")
        #expect(dpkg.license.contains("GPL-2.0-or-later"), "dpkg declares \(dpkg.license)")
        let dpkgLocked = try #require(lock.packages.first { $0.name == "dpkg" })
        let repository = try #require(lock.repositories.first { $0.name == dpkgLocked.repository })
        let location = (document["packages"] as? [[String: Any]])?.first { $0["name"] as? String == "dpkg" }?["downloadLocation"]
        #expect(location as? String == (repository.url.hasSuffix("/") ? repository.url : repository.url + "/") + dpkgLocked.path)
        let declared = packages.filter { $0.license != "NOASSERTION" }.count
        print("minbase SBOM: \(declared) of \(packages.count) packages declare a license (DEP-5 copyright)")
        #expect(declared * 2 > packages.count, "only \(declared) of \(packages.count) packages declare a license")

        // The commit gives the same bytes (show --sbom), and so does a build run again.
        let commit = try store.readCommit(built.commit)
        let spdx = try Array(Data(contentsOf: URL(fileURLWithPath: "\(dir)/minbase.spdx.json")))
        #expect(try Builder.sbom(of: commit, in: store, packagers: .testing).encoded(.spdx) == spdx)
        let again = try await builder.build(
            spec: spec, lock: lock, output: "\(dir)/again/minbase.tar", format: .tar(.none), urls: urls, rebuild: true)
        #expect(!again.reused)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: "\(dir)/again/minbase.spdx.json"))) == spdx)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: "\(dir)/again/minbase.cdx.json"))
                == Data(contentsOf: URL(fileURLWithPath: "\(dir)/minbase.cdx.json")))
    }
}
