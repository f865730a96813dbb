// What a Debian package tells an SBOM: its purl (`pkg:deb/debian/NAME@VERSION?arch=…&distro=…`),
// its Maintainer, Homepage and Source from its control file, and its declared licenses from its
// `usr/share/doc/NAME/copyright` when that is in the machine-readable format (DEP-5,
// https://dep-team.pages.debian.net/deps/dep5/): the `License:` names of every paragraph, all of
// them at once, with the texts of its stand-alone license paragraphs. A free-form copyright file
// declares nothing an SBOM can use (NOASSERTION).
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

extension DebPackager {
    public func sbomFacts(of package: Lockfile.Package, lock: Lockfile, store: Store) throws -> SBOMFacts {
        let target = lock.target.split(separator: "/").map(String.init)
        let vendor = target.first ?? "debian"
        var qualifiers = [("arch", package.architecture)]
        if target.count >= 2 { qualifiers.append(("distro", "\(vendor)-\(target[1])")) }
        var facts = SBOMFacts(
            purl: SBOM.purl(type: "deb", namespace: vendor, name: package.name, version: package.version, qualifiers: qualifiers))
        guard let record = storedRecord(of: package.sha256, in: store) else { return facts }
        if let control = record.control["control"],
            let stanza = try? Deb822.parse(String(decoding: control, as: UTF8.self), what: "\(package.name)'s control").first
        {
            facts.supplier = stanza["Maintainer"]
            facts.homepage = stanza["Homepage"]
            facts.sourcePackage = stanza["Source"].map { $0.split(separator: " ").first.map(String.init) ?? $0 }
        }
        if let copyright = try storedFile("usr/share/doc/\(package.name)/copyright", of: package.sha256, in: store) {
            facts.license = Self.declaredLicense(copyright: String(decoding: copyright, as: UTF8.self))
        }
        return facts
    }

    /// DEP-5 short names that are not SPDX ids as they stand.
    static let licenseAliases: [String: String] = [
        "GPL-1": "GPL-1.0-only", "GPL-1+": "GPL-1.0-or-later", "GPL-2": "GPL-2.0-only", "GPL-2+": "GPL-2.0-or-later",
        "GPL-3": "GPL-3.0-only", "GPL-3+": "GPL-3.0-or-later", "LGPL-2": "LGPL-2.0-only", "LGPL-2+": "LGPL-2.0-or-later",
        "LGPL-2.1": "LGPL-2.1-only", "LGPL-2.1+": "LGPL-2.1-or-later", "LGPL-3": "LGPL-3.0-only",
        "LGPL-3+": "LGPL-3.0-or-later", "AGPL-3": "AGPL-3.0-only", "AGPL-3+": "AGPL-3.0-or-later",
        "GFDL-1.2": "GFDL-1.2-only", "GFDL-1.2+": "GFDL-1.2-or-later", "GFDL-1.3": "GFDL-1.3-only",
        "GFDL-1.3+": "GFDL-1.3-or-later", "Artistic": "Artistic-1.0-Perl", "Expat": "MIT", "Apache-2": "Apache-2.0",
        "MPL-2": "MPL-2.0", "CC0": "CC0-1.0", "BSD-2": "BSD-2-Clause", "BSD-3": "BSD-3-Clause", "PSF-2": "PSF-2.0",
    ]

    /// The licenses a DEP-5 copyright file declares, nil for a free-form one or one naming none.
    static func declaredLicense(copyright text: String) -> SPDXLicense.Expression? {
        guard let first = text.split(separator: "\n").first, first.lowercased().hasPrefix("format:") else { return nil }
        // A malformed line makes the whole file unusable for this; say nothing rather than guess.
        guard let paragraphs = try? Deb822.parse(text, what: "copyright") else { return nil }
        var texts = [String: String]()
        var names = [String]()
        for paragraph in paragraphs {
            guard let license = paragraph["License"] else { continue }
            let lines = license.split(separator: "\n", omittingEmptySubsequences: false)
            let name = String(lines.first ?? "").trimmingCharacters(in: .whitespaces)
            if paragraph["Files"] == nil, lines.count > 1 {
                texts[name] = lines.dropFirst().map { $0 == "." ? "" : String($0) }.joined(separator: "\n")
            }
            if paragraph["Files"] != nil || paragraph["Format"] != nil { names.append(name) }
        }
        return SPDXLicense.all(
            names.compactMap { SPDXLicense.expression($0, aliases: licenseAliases, texts: texts) })
    }
}
