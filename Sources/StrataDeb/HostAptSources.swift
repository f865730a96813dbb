import Foundation

// The host's own apt configuration, read to find the default mirrors: deb822 `.sources` files in
// /etc/apt/sources.list.d/ and one-line `deb URL SUITE COMPONENTS` entries in
// /etc/apt/sources.list(.d/*.list). strata never writes a mirror host name into its templates;
// it asks the host instead, as debootstrap users expect ("the mirror this machine already uses").

public struct AptSourceEntry: Sendable, Equatable {
    public var uri: String
    public var suites: [String]
    public var components: [String]
}

public enum HostAptSources {
    /// Every `deb` entry configured on the host (deb-src entries are ignored).
    public static func entries(root: String = "") -> [AptSourceEntry] {
        var out = [AptSourceEntry]()
        let dir = "\(root)/etc/apt/sources.list.d"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        for name in names where name.hasSuffix(".sources") {
            guard let text = try? String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8),
                let stanzas = try? Deb822.parse(text, what: name)
            else { continue }
            for stanza in stanzas {
                if stanza["Enabled"]?.lowercased() == "no" { continue }
                guard (stanza["Types"] ?? "").split(separator: " ").contains("deb") else { continue }
                let suites = (stanza["Suites"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
                let components = (stanza["Components"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
                for uri in (stanza["URIs"] ?? "").split(whereSeparator: \.isWhitespace) {
                    out.append(AptSourceEntry(uri: String(uri), suites: suites, components: components))
                }
            }
        }
        let lists = ["\(root)/etc/apt/sources.list"] + names.filter { $0.hasSuffix(".list") }.map { "\(dir)/\($0)" }
        for path in lists {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                var words = line.split(separator: "#", maxSplits: 1).first?.split(whereSeparator: \.isWhitespace) ?? []
                guard words.first == "deb" else { continue }
                words.removeFirst()
                if words.first?.hasPrefix("[") == true {
                    while let word = words.first, !word.hasSuffix("]") { words.removeFirst() }
                    if !words.isEmpty { words.removeFirst() }
                }
                guard words.count >= 2 else { continue }
                out.append(
                    AptSourceEntry(uri: String(words[0]), suites: [String(words[1])], components: words.dropFirst(2).map(String.init)))
            }
        }
        return out
    }

    /// The mirror for each role strata's Debian templates use: `debian` (the archive) and
    /// `debian-security` (the security archive), from the host's entries.
    public static func mirrorRoles(root: String = "") -> [String: String] {
        var roles = [String: String]()
        for entry in entries(root: root) {
            let uri = entry.uri.hasSuffix("/") ? String(entry.uri.dropLast()) : entry.uri
            let security = entry.suites.contains { $0.hasSuffix("-security") || $0.hasSuffix("/updates") }
            let role = security ? "debian-security" : "debian"
            if roles[role] == nil { roles[role] = uri }
        }
        return roles
    }
}
