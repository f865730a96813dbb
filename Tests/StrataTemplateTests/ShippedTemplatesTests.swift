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

    @Test("rocky/9 loads as an rpm template: two repositories under the rocky mirror role, the rpmdb settings, minimal")
    func rocky() throws {
        let tree = TemplateTree(root: shippedRoot)
        let spec = try tree.load(target: "rocky/9", set: "minimal", architecture: Architecture("x86_64"))
        #expect(spec.family == .rpm)
        #expect(spec.architecture.rpm == "x86_64")
        let keyring = "/usr/share/strata/keyrings/RPM-GPG-KEY-Rocky-9"
        #expect(
            spec.repositories == [
                RepositorySpec(name: "baseos", mirror: "rocky", keyring: keyring, path: "9/BaseOS/x86_64/os"),
                RepositorySpec(name: "appstream", mirror: "rocky", keyring: keyring, path: "9/AppStream/x86_64/os"),
            ])
        #expect(spec.settings["rpmdb-path"] == "/var/lib/rpm" && spec.settings["rpmdb-backend"] == "sqlite")
        #expect(spec.packages.contains("rpm") && spec.packages.contains("dnf") && spec.selectors.isEmpty)
        #expect(spec.cleanup.contains("/var/cache/dnf/*"))
        #expect(try tree.sets(target: "rocky/9") == ["minimal"])
    }

    @Test("a repository path must be relative, under a mirror role")
    func repositoryPath() throws {
        let root = NSTemporaryDirectory() + "strata-path-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(root)/el/1/config", withIntermediateDirectories: true)
        try "x\n".write(toFile: "\(root)/el/1/config/base.list", atomically: true, encoding: .utf8)
        for (repository, words) in [
            ("mirror: el\n    path: /9/os", "relative path under the repository's mirror role"),
            ("mirror: el\n    path: 9/../../os", "no '..'"),
            ("url: http://127.0.0.1:9/el\n    path: 9/os", "on a repository with a url"),
        ] {
            try "family: rpm\nversion: \"1\"\nrepositories:\n  - name: base\n    \(repository)\n"
                .write(toFile: "\(root)/el/1/config/template.yaml", atomically: true, encoding: .utf8)
            let error = #expect(throws: StrataError.self) {
                try TemplateTree(root: root).load(target: "el/1", set: "base", architecture: Architecture("amd64"))
            }
            #expect(error?.message.contains(words) == true, "\(String(describing: error))")
            #expect(error?.message.contains("template.yaml:") == true)
        }
    }

    @Test("the shipped tree names no mirror host anywhere")
    func noHostNames() throws {
        let files = try #require(FileManager.default.subpathsOfDirectory(atPath: shippedRoot) as [String]?)
        for file in files where !file.hasSuffix("/") {
            guard let text = try? String(contentsOfFile: "\(shippedRoot)/\(file)", encoding: .utf8) else { continue }
            #expect(!text.contains("://"), "\(file) names a URL")
            #expect(!text.contains("debian.org"), "\(file) names a host")
        }
        #expect(try TemplateTree(root: shippedRoot).targets() == ["debian/11", "debian/12", "debian/13", "rocky/9"])
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
