import Foundation
import StrataCore
import Testing

@testable import StrataTemplate

/// The repository's `templates/`, found from this file's path.
private let shippedRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("templates").path
}()

@Suite("The shipped templates/ tree")
struct ShippedTemplatesTests {
    @Test(
        "debian/11, 12 and 13 load with their suites, the three mirror-role repositories and the sets",
        arguments: [("11", "bullseye"), ("12", "bookworm"), ("13", "trixie")])
    func debian(version: String, suite: String) throws {
        let tree = TemplateTree(root: shippedRoot)
        let spec = try tree.load(target: "debian/\(version)", set: "minbase", architecture: Architecture("amd64"))
        #expect(spec.family == .deb)
        #expect(spec.settings["distro"] == "debian")
        #expect(spec.settings["version"] == version)
        #expect(spec.settings["suite"] == suite)
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
        #expect(
            spec.repositories == [
                RepositorySpec(name: "main", mirror: "debian", suite: suite, components: ["main"], keyring: keyring),
                RepositorySpec(
                    name: "updates", mirror: "debian", suite: "\(suite)-updates", components: ["main"],
                    keyring: keyring),
                RepositorySpec(
                    name: "security", mirror: "debian-security", suite: "\(suite)-security", components: ["main"],
                    keyring: keyring),
            ])
        #expect(spec.repositories.allSatisfy { $0.url == nil && !$0.trusted })
        #expect(spec.selectors == [.essential, .priority("required")])
        #expect(spec.packages == ["apt"])
        #expect(spec.dummies.isEmpty)
        #expect(spec.cleanup.contains("/var/lib/apt/lists/*"))
        #expect(!spec.cleanup.contains("/etc/machine-id"))

        let essential = try tree.load(
            target: "debian/\(version)", set: "essential", architecture: Architecture("amd64"))
        #expect(essential.selectors == [.essential] && essential.packages.isEmpty)
        let standard = try tree.load(target: "debian/\(version)", set: "standard", architecture: Architecture("amd64"))
        #expect(standard.selectors == [.essential, .priority("required"), .priority("important")])
        #expect(standard.packages == ["apt"])
        #expect(try tree.sets(target: "debian/\(version)") == ["essential", "minbase", "standard"])
    }

    @Test("the shipped tree names no mirror host anywhere")
    func noHostNames() throws {
        let files = try #require(FileManager.default.subpathsOfDirectory(atPath: shippedRoot) as [String]?)
        for file in files where !file.hasSuffix("/") {
            guard let text = try? String(contentsOfFile: "\(shippedRoot)/\(file)", encoding: .utf8) else { continue }
            #expect(!text.contains("://"), "\(file) names a URL")
            #expect(!text.contains("debian.org"), "\(file) names a host")
        }
        #expect(try TemplateTree(root: shippedRoot).targets() == ["debian/11", "debian/12", "debian/13"])
    }
}

@Suite("Finding the tree")
struct DefaultRootTests {
    @Test("--templates wins, then $STRATA_TEMPLATES, then templates/ near the executable, then the cwd")
    func order() throws {
        let fixture = try TreeFixture(base: false)
        try fixture.write("repo/templates/demo/1/config/template.yaml", "family: deb\n")
        try fixture.write("cwd/templates/x/config/template.yaml", "family: deb\n")
        let executable = fixture.path("repo/.build/debug/strata")
        func find(_ explicit: String?, _ environment: [String: String], _ executable: String?) -> String {
            TemplateTree.defaultRoot(
                explicit: explicit, environment: environment, executable: executable,
                currentDirectory: fixture.path("cwd"))
        }
        #expect(find("/opt/t", ["STRATA_TEMPLATES": "/env/t"], executable) == "/opt/t")
        #expect(find(nil, ["STRATA_TEMPLATES": "/env/t"], executable) == "/env/t")
        #expect(find(nil, ["STRATA_TEMPLATES": ""], executable) == fixture.path("repo/templates"))
        #expect(find(nil, [:], "/nonexistent/bin/strata") == fixture.path("cwd/templates"))
        let nowhere = TemplateTree.defaultRoot(
            explicit: nil, environment: [:], executable: nil, currentDirectory: fixture.path("none"))
        #expect(nowhere == TemplateTree.systemRoot || FileManager.default.fileExists(atPath: nowhere))
    }
}
