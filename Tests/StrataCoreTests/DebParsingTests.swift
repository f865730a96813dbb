import Foundation
import StrataCore
@testable import StrataDeb
import Testing

@Suite("Deb822, Release files, Packages extras and the host's apt sources")
struct DebParsingTests {
    static let release = """
        Origin: Debian
        Suite: stable
        Codename: bookworm
        Date: Sat, 17 May 2025 08:55:37 UTC
        Acquire-By-Hash: yes
        Architectures: all amd64 arm64
        Components: main contrib
        MD5Sum:
         0123456789abcdef0123456789abcdef 10 main/binary-amd64/Packages
        SHA256:
         \(String(repeating: "a", count: 64)) 1234 main/binary-amd64/Packages.xz
         \(String(repeating: "b", count: 64))   99 main/binary-amd64/Release

        """

    @Test("a Release file gives suite, codename, date and the SHA256 list only")
    func releaseFile() throws {
        let file = try ReleaseFile(text: Self.release, what: "InRelease")
        #expect(file.suite == "stable")
        #expect(file.codename == "bookworm")
        #expect(file.acquireByHash)
        #expect(file.components == ["main", "contrib"])
        #expect(file.date == Date(timeIntervalSince1970: 1_747_472_137))
        #expect(file.files.count == 2)
        #expect(file.files["main/binary-amd64/Packages.xz"]?.size == 1234)
        #expect(file.files["main/binary-amd64/Packages"] == nil, "MD5Sum entries are not trusted")
    }

    @Test("a malformed SHA256 entry names the file and the entry")
    func malformedRelease() {
        let text = Self.release.replacingOccurrences(of: " 1234 ", with: " x ")
        let error = #expect(throws: StrataError.self) { try ReleaseFile(text: text, what: "dists/stable/InRelease") }
        #expect(error?.message.hasPrefix("dists/stable/InRelease: SHA256 entry 1") == true)
    }

    @Test("deb822 keeps continuation lines and reports a stray line with its number")
    func deb822() throws {
        let stanzas = try Deb822.parse("A: 1\nB: x\n y\n\nA: 2\n", what: "f")
        #expect(stanzas.count == 2)
        #expect(stanzas[0]["b"] == "x\ny")
        let error = #expect(throws: StrataError.self) { try Deb822.parse("A: 1\nnonsense\n", what: "f") }
        #expect(error?.message.hasPrefix("f:2:") == true)
    }

    @Test("the Packages scan reads Priority, Essential and Size per stanza, skipping nameless ones")
    func packagesScan() {
        let text = """
            Package: a
            Priority: required
            Essential: yes
            Size: 10

            Version: 1

            Package: b
            Priority: optional
            Description: x
             Essential: yes
            """
        let extras = PackagesIndex.scanExtras(Array(text.utf8))
        #expect(extras == [
            PackagesStanzaExtras(name: "a", priority: "required", essential: true, size: 10),
            PackagesStanzaExtras(name: "b", priority: "optional", essential: false, size: nil),
        ])
    }

    @Test("mirror roles come from the host's deb822 and one-line sources")
    func hostSources() throws {
        let root = NSTemporaryDirectory() + "strata-apt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(root)/etc/apt/sources.list.d", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try """
            Types: deb
            URIs: http://mirror.invalid/debian/
            Suites: bookworm bookworm-updates
            Components: main

            Types: deb
            URIs: http://security.invalid/debian-security
            Suites: bookworm-security
            Components: main
            """.write(toFile: "\(root)/etc/apt/sources.list.d/debian.sources", atomically: true, encoding: .utf8)
        #expect(HostAptSources.mirrorRoles(root: root) == [
            "debian": "http://mirror.invalid/debian", "debian-security": "http://security.invalid/debian-security",
        ])
        try FileManager.default.removeItem(atPath: "\(root)/etc/apt/sources.list.d/debian.sources")
        try "deb [arch=amd64] http://other.invalid/debian bookworm main\n# deb http://x.invalid/ y main\n"
            .write(toFile: "\(root)/etc/apt/sources.list", atomically: true, encoding: .utf8)
        #expect(HostAptSources.mirrorRoles(root: root) == ["debian": "http://other.invalid/debian"])
    }
}

@Suite("The order of preinsts")
struct DebInstallOrderTests {
    func record(_ name: String, depends: String = "", preDepends: String = "", essential: Bool = false) -> DebPackageRecord {
        var stanza = "Package: \(name)\nVersion: 1\nArchitecture: amd64\n"
        if essential { stanza += "Essential: yes\n" }
        if !preDepends.isEmpty { stanza += "Pre-Depends: \(preDepends)\n" }
        if !depends.isEmpty { stanza += "Depends: \(depends)\n" }
        return DebPackageRecord(name: name, architecture: "amd64", control: ["control": Array(stanza.utf8)], paths: [])
    }

    @Test("base-passwd first, dependencies (any alternative in the set) before dependants, essential first on a tie, a cycle broken")
    func order() {
        let packages = [
            record("zlib"),
            record("app", depends: "libfoo (>= 1) | libbar, zlib:any"),
            record("libbar", preDepends: "libc6"),
            record("libc6", essential: false),
            record("base-passwd", depends: "libc6"),
            record("essential-tool", essential: true),
            record("cycle-a", depends: "cycle-b"),
            record("cycle-b", depends: "cycle-a"),
        ]
        let names = DebInstallOrder.order(packages).map(\.name)
        #expect(names.count == packages.count)
        #expect(names.first == "base-passwd")
        func index(_ name: String) -> Int { names.firstIndex(of: name) ?? -1 }
        #expect(index("libc6") < index("libbar"))
        #expect(index("libbar") < index("app"))
        #expect(index("zlib") < index("app"))
        #expect(index("essential-tool") == 1, "\(names)")
        #expect(index("cycle-a") < index("cycle-b"), "a cycle releases the member that sorts first: \(names)")
        #expect(names == DebInstallOrder.order(packages.reversed()).map(\.name), "the input order does not matter")
    }
}
