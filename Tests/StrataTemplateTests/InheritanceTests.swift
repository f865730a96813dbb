import StrataCore
import Testing

@testable import StrataTemplate

@Suite("Inheritance across levels")
struct InheritanceTests {
    @Test("a lower level's scalar setting wins over the upper ones, across three levels and the root")
    func scalarsLowerWins() throws {
        let fixture = try TreeFixture()
        try fixture.write("config/template.yaml", "origin: root\nflavour: root\nsize: root\nshape: root\n")
        try fixture.write(
            "demo/config/template.yaml", try baseYAML() + "flavour: distro\nsize: distro\nshape: distro\n")
        try fixture.write("demo/1/config/template.yaml", "suite: one\nsize: version\nshape: version\n")
        try fixture.write("demo/1/amd64/config/template.yaml", "shape: arch\n")
        try fixture.write("demo/config/base.list", "hello\n")
        let spec = try fixture.load("base")
        #expect(spec.settings["origin"] == "root")
        #expect(spec.settings["flavour"] == "distro")
        #expect(spec.settings["size"] == "version")
        #expect(spec.settings["shape"] == "arch")
        #expect(spec.architecture == Architecture("amd64"))
        #expect(spec.target == "demo/1")
    }

    @Test("the architecture directory applies only to its architecture, and a target may name it")
    func architectureLevel() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/1/arm64/config/template.yaml", "shape: arm\n")
        try fixture.write("demo/config/base.list", "hello\n")
        let amd = try fixture.tree.load(target: "demo/1", set: "base", architecture: Architecture("amd64"))
        #expect(amd.settings["shape"] == nil)
        let arm = try fixture.tree.load(target: "demo/1/aarch64", set: "base", architecture: nil)
        #expect(arm.settings["shape"] == "arm")
        #expect(arm.target == "demo/1/arm64")
        #expect(arm.architecture == Architecture("arm64"))
        let message = expectFailure(.invalidInput) {
            try fixture.tree.load(target: "demo/1/arm64", set: "base", architecture: Architecture("amd64"))
        }
        #expect(message.contains("arm64") && message.contains("amd64"))
    }

    @Test("a lower file of the same name replaces the upper one, while *.list files merge")
    func replaceVersusMerge() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/hook.sh", "upper\n")
        try fixture.write("demo/config/notes.txt", "only upper\n")
        try fixture.write("demo/1/config/hook.sh", "lower\n")
        try fixture.write("demo/config/base.list", "alpha\n")
        try fixture.write("demo/1/config/base.list", "beta\n")
        let spec = try fixture.load("base")
        #expect(spec.packages == ["alpha", "beta"])
        let hook = try #require(spec.files.first { $0.name == "hook.sh" })
        #expect(hook.path == fixture.path("demo/1/config/hook.sh"))
        #expect(hook.digest == SHA256Digest.of(Array("lower\n".utf8)))
        #expect(spec.files.map(\.name) == ["hook.sh", "notes.txt"])
    }

    @Test("repositories merge by name: same name replaces in place, new names append, drop removes")
    func repositoriesMergeByName() throws {
        let fixture = try TreeFixture()
        try fixture.write(
            "demo/config/template.yaml",
            try baseYAML() + """
                  - name: extra
                    url: http://example.invalid/extra
                  - name: gone
                    mirror: demo
                """)
        try fixture.write(
            "demo/1/config/template.yaml",
            """
            suite: one
            repositories:
              - name: main
                url: file:///srv/local
                trusted: true
              - name: gone
                drop: true
              - name: added
                mirror: demo-security
                suite: "${suite}-security"
            """)
        try fixture.write("demo/config/base.list", "hello\n")
        let repositories = try fixture.load("base").repositories
        #expect(repositories.map(\.name) == ["main", "extra", "added"])
        #expect(repositories[0] == RepositorySpec(name: "main", url: "file:///srv/local", trusted: true))
        #expect(repositories[1].trusted == false)
        #expect(repositories[2].suite == "one-security")
    }

    @Test("the keyring setting is the default keyring of repositories that name none")
    func defaultKeyring() throws {
        let fixture = try TreeFixture()
        try fixture.write(
            "demo/1/config/template.yaml",
            """
            suite: one
            keyring: /usr/share/keyrings/demo.gpg
            repositories:
              - name: own
                mirror: demo
                keyring: /etc/own.gpg
            """)
        try fixture.write("demo/config/base.list", "hello\n")
        let repositories = try fixture.load("base").repositories
        #expect(repositories.map(\.keyring) == ["/usr/share/keyrings/demo.gpg", "/etc/own.gpg"])
    }

    @Test("excludes and cleanup merge across levels, and '-/glob' drops an inherited glob")
    func globListsMerge() throws {
        let fixture = try TreeFixture()
        try fixture.write(
            "demo/config/template.yaml",
            try baseYAML() + "cleanup: [/var/log/*, /tmp/*]\nexcludes: [/usr/share/doc/*]\n")
        try fixture.write("demo/1/config/template.yaml", "suite: one\ncleanup: [-/tmp/*, /var/tmp/*, /var/log/*]\n")
        try fixture.write("demo/config/base.list", "hello\n")
        let spec = try fixture.load("base")
        #expect(spec.cleanup == ["/var/log/*", "/var/tmp/*"])
        #expect(spec.excludes == ["/usr/share/doc/*"])
    }

    @Test("dummies merge by name and need a version")
    func dummies() throws {
        let fixture = try TreeFixture()
        try fixture.write(
            "demo/config/template.yaml",
            try baseYAML() + "dummies:\n  - {name: udev, version: '1', provides: [systemd-udev]}\n")
        try fixture.write(
            "demo/1/config/template.yaml", "suite: one\ndummies:\n  - {name: linux-image, version: '9'}\n")
        try fixture.write("demo/config/base.list", "hello\n")
        #expect(
            try fixture.load("base").dummies == [
                DummyPackage(name: "udev", version: "1", provides: ["systemd-udev"]),
                DummyPackage(name: "linux-image", version: "9"),
            ])
        try fixture.write("demo/1/config/template.yaml", "suite: one\ndummies:\n  - name: kernel\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(message.hasPrefix(fixture.path("demo/1/config/template.yaml") + ":3: "))
        #expect(message.contains("needs a 'version'"))
    }
}

/// The base fixture's `demo/config/template.yaml`, to extend in a test.
func baseYAML() throws -> String {
    """
    family: deb
    distro: demo
    repositories:
      - name: main
        mirror: demo
        suite: "${suite}"
        components: [main]

    """
}
