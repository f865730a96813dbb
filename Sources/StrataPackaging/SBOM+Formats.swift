// The two documents an ``SBOM`` is written as. SPDX 2.3: the template is a package
// (`primaryPackagePurpose` OPERATING-SYSTEM) that the document DESCRIBES and that CONTAINS every
// package; each package has its sha256, purl, download location and declared license, and every
// `LicenseRef-` used is described in `hasExtractedLicensingInfos`. CycloneDX 1.5: the template is
// the metadata's component (`operating-system`), the packages are `library` components keyed by
// purl, and one dependency entry says the template holds them all.
import Foundation
import StrataCore

extension SBOM {
    func spdx() -> [String: Any] {
        var extracted = [String: SPDXLicense.Reference]()
        var relationships: [[String: Any]] = [
            ["spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Template"]
        ]
        var packages: [[String: Any]] = [
            [
                "SPDXID": "SPDXRef-Template", "name": name, "versionInfo": version, "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false, "primaryPackagePurpose": "OPERATING-SYSTEM", "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
                "comment": "built by strata from the lockfile with sha256 \(lockDigest.hex)",
            ]
        ]
        for package in self.packages {
            let id = "SPDXRef-Package-\(Self.idstring(package.locked.name))-\(Self.idstring(package.locked.architecture))"
            var entry: [String: Any] = [
                "SPDXID": id, "name": package.locked.name, "versionInfo": package.locked.version,
                "downloadLocation": Self.isNamedHostURL(package.downloadLocation) ? package.downloadLocation : "NOASSERTION",
                "filesAnalyzed": false,
                "checksums": [["algorithm": "SHA256", "checksumValue": package.locked.sha256.hex]],
                "licenseConcluded": "NOASSERTION", "licenseDeclared": package.facts.license?.text ?? "NOASSERTION",
                "copyrightText": "NOASSERTION", "primaryPackagePurpose": "LIBRARY",
                "externalRefs": [
                    ["referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": package.facts.purl]
                ],
            ]
            if let supplier = package.facts.supplier.flatMap(Self.spdxActor) { entry["supplier"] = supplier }
            if let homepage = package.facts.homepage, Self.isURL(homepage) { entry["homepage"] = homepage }
            if let source = package.facts.sourcePackage { entry["sourceInfo"] = "built from the source package \(source)" }
            if Self.isURL(package.downloadLocation), !Self.isNamedHostURL(package.downloadLocation) {
                entry["comment"] = "downloaded from \(package.downloadLocation)"
            }
            packages.append(entry)
            relationships.append(["spdxElementId": "SPDXRef-Template", "relationshipType": "CONTAINS", "relatedSpdxElement": id])
            for (ref, what) in package.facts.license?.references ?? [:] where extracted[ref] == nil { extracted[ref] = what }
        }
        var document: [String: Any] = [
            "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": name,
            "documentNamespace": "https://spdx.org/spdxdocs/strata/\(name)-\(uuid("spdx"))",
            "creationInfo": ["created": createdString, "creators": ["Tool: strata-\(StrataVersion.string)"]],
            "packages": packages, "relationships": relationships,
        ]
        if !extracted.isEmpty {
            document["hasExtractedLicensingInfos"] = extracted.sorted { $0.key < $1.key }.map { ref, what -> [String: Any] in
                [
                    "licenseId": ref, "name": what.name,
                    "extractedText": what.text
                        ?? "The package names this license '\(what.name)' and does not include its text.",
                ]
            }
        }
        return document
    }

    func cycloneDX() -> [String: Any] {
        var components = [[String: Any]]()
        for package in packages {
            var component: [String: Any] = [
                "type": "library", "bom-ref": package.facts.purl, "name": package.locked.name,
                "version": package.locked.version, "purl": package.facts.purl,
                "hashes": [["alg": "SHA-256", "content": package.locked.sha256.hex]],
                "properties": [["name": "strata:architecture", "value": package.locked.architecture]],
            ]
            if let license = package.facts.license { component["licenses"] = [["expression": license.text]] }
            if let supplier = package.facts.supplier { component["supplier"] = ["name": supplier] }
            var references = [[String: Any]]()
            if Self.isURL(package.downloadLocation) { references.append(["type": "distribution", "url": package.downloadLocation]) }
            if let homepage = package.facts.homepage, Self.isURL(homepage) { references.append(["type": "website", "url": homepage]) }
            if !references.isEmpty { component["externalReferences"] = references }
            components.append(component)
        }
        return [
            "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json", "bomFormat": "CycloneDX", "specVersion": "1.5",
            "serialNumber": "urn:uuid:\(uuid("cyclonedx"))", "version": 1,
            "metadata": [
                "timestamp": createdString,
                "tools": ["components": [["type": "application", "name": "strata", "version": StrataVersion.string]]],
                "component": [
                    "type": "operating-system", "bom-ref": "template", "name": name, "version": version,
                    "properties": [["name": "strata:lockfile.sha256", "value": lockDigest.hex]],
                ],
            ] as [String: Any],
            "components": components,
            "dependencies": [["ref": "template", "dependsOn": packages.map(\.facts.purl)]]
                + packages.map { ["ref": $0.facts.purl, "dependsOn": [String]()] },
        ]
    }

    /// What an SPDX idstring may hold: letters, digits, `.` and `-` (`+` as `-plus`).
    static func idstring(_ text: String) -> String {
        String(SPDXLicense.reference(text).dropFirst("LicenseRef-".count))
    }

    static func isURL(_ text: String) -> Bool {
        (text.hasPrefix("http://") || text.hasPrefix("https://") || text.hasPrefix("ftp://"))
            && !text.contains(where: \.isWhitespace)
    }

    /// A URL whose host is a DNS name with a top-level domain: what SPDX validators accept as a
    /// download location (spdx-tools refuses an address or `localhost`, which the package's
    /// comment then names instead).
    static func isNamedHostURL(_ text: String) -> Bool {
        guard isURL(text), let scheme = text.range(of: "://") else { return false }
        let rest = text[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        let host = (authority.split(separator: "@").last ?? "").split(separator: ":").first ?? ""
        guard let tld = host.split(separator: ".").last, host.contains(".") else { return false }
        return (2...5).contains(tld.count) && tld.allSatisfy(\.isLetter)
    }

    /// `Name <mail>` as SPDX's `Person: Name (mail)`, anything else as an organization.
    static func spdxActor(_ text: String) -> String? {
        let clean = text.replacingOccurrences(of: "(", with: "").replacingOccurrences(of: ")", with: "")
            .trimmingCharacters(in: .whitespaces)
        guard !clean.isEmpty else { return nil }
        if let open = clean.firstIndex(of: "<"), let close = clean.lastIndex(of: ">"), open < close {
            let name = clean[..<open].trimmingCharacters(in: .whitespaces)
            let mail = clean[clean.index(after: open)..<close]
            return "Person: \(name.isEmpty ? String(mail) : name) (\(mail))"
        }
        return "Organization: \(clean)"
    }
}

extension SBOM {
    /// A purl (github.com/package-url/purl-spec): `pkg:TYPE/NAMESPACE/NAME@VERSION?qualifiers`,
    /// each part percent-encoded (`+` as `%2B`, `:` of an epoch kept out of the version).
    public static func purl(type: String, namespace: String, name: String, version: String, qualifiers: [(String, String)]) -> String {
        func encode(_ part: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: ".-_~")
            return part.addingPercentEncoding(withAllowedCharacters: allowed) ?? part
        }
        let query = qualifiers.sorted { $0.0 < $1.0 }.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
        return "pkg:\(type)/\(encode(namespace.lowercased()))/\(encode(name))@\(encode(version))" + (query.isEmpty ? "" : "?\(query)")
    }
}
