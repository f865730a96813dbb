// What an rpm package tells an SBOM: its purl (`pkg:rpm/VENDOR/NAME@VERSION-RELEASE?arch=…&epoch=…`,
// the vendor being the template's distribution), and from its header the License tag as an SPDX
// expression (Fedora writes SPDX since 2023; EL 9 and older Fedora use the old Fedora short names,
// mapped below), its Vendor, URL and source rpm.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

extension RpmPackager {
    public func sbomFacts(of package: Lockfile.Package, lock: Lockfile, store: Store) throws -> SBOMFacts {
        let target = lock.target.split(separator: "/").map(String.init)
        let vendor = target.first ?? "rpm"
        // libsolv's evr: [epoch:]version-release.
        let (epoch, version) = package.version.firstIndex(of: ":").map {
            (String(package.version[..<$0]), String(package.version[package.version.index(after: $0)...]))
        } ?? (nil, package.version)
        var qualifiers = [("arch", package.architecture)]
        if let epoch, epoch != "0" { qualifiers.append(("epoch", epoch)) }
        if target.count >= 2 { qualifiers.append(("distro", "\(vendor)-\(target[1])")) }
        var facts = SBOMFacts(
            purl: SBOM.purl(type: "rpm", namespace: vendor, name: package.name, version: version, qualifiers: qualifiers))
        guard let header = storedRecord(of: package.sha256, in: store)?.header else { return facts }
        facts.license = header.license.flatMap { SPDXLicense.expression($0, aliases: Self.licenseAliases) }
        facts.supplier = header.vendor
        facts.homepage = header.url
        facts.sourcePackage = header.sourceRPM
        return facts
    }

    /// The old Fedora short license names (before Fedora moved to SPDX) that EL packages still use.
    static let licenseAliases: [String: String] = [
        "GPLv1": "GPL-1.0-only", "GPL+": "GPL-1.0-or-later", "GPLv2": "GPL-2.0-only", "GPLv2+": "GPL-2.0-or-later",
        "GPLv3": "GPL-3.0-only", "GPLv3+": "GPL-3.0-or-later", "LGPLv2": "LGPL-2.1-only", "LGPLv2+": "LGPL-2.1-or-later",
        "LGPLv3": "LGPL-3.0-only", "LGPLv3+": "LGPL-3.0-or-later", "AGPLv3": "AGPL-3.0-only", "AGPLv3+": "AGPL-3.0-or-later",
        "ASL 2.0": "Apache-2.0", "ASL 1.1": "Apache-1.1", "MPLv1.1": "MPL-1.1", "MPLv2.0": "MPL-2.0",
        "Boost": "BSL-1.0", "zlib": "Zlib", "Artistic 2.0": "Artistic-2.0", "Python": "Python-2.0", "OpenLDAP": "OLDAP-2.8",
        "Public Domain": "LicenseRef-Fedora-Public-Domain", "CC0": "CC0-1.0",
    ]
}
