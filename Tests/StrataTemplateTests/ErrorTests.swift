import StrataCore
import Testing

@testable import StrataTemplate

@Suite("Errors in targets, sets and template.yaml")
struct ErrorTests {
    @Test("an unknown target is .notFound and lists the targets of the tree")
    func unknownTarget() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/2/config/template.yaml", "suite: two\n")
        let message = expectFailure(.notFound) { try fixture.load("base", target: "demo/3") }
        #expect(message.contains("unknown target 'demo/3'") && message.contains("(targets: demo/1, demo/2)"))
        expectFailure(.invalidInput) { try fixture.load("base", target: "demo") }
        expectFailure(.invalidInput) { try fixture.load("base", target: "demo/config") }
    }

    @Test("an unknown set is .notFound and lists the sets that exist for the target")
    func unknownSet() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/minbase.list", "apt\n")
        try fixture.write("demo/1/config/standard.list", "@include minbase\n")
        let message = expectFailure(.notFound) { try fixture.load("minbse") }
        #expect(message == "target 'demo/1': unknown set 'minbse' (did you mean 'minbase'?) (sets: minbase, standard)")
    }

    @Test("a YAML syntax error names the file and the line Yams reports")
    func yamlSyntax() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/1/config/template.yaml", "suite: one\nversion: 1\nrepositories: [\n  {name: x\n")
        try fixture.write("demo/config/base.list", "hello\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(message.hasPrefix(fixture.path("demo/1/config/template.yaml") + ":5: YAML syntax error"), "\(message)")
        #expect(message.contains("did not find expected"), "\(message)")
    }

    @Test(
        "semantic errors in template.yaml name the file and the line of the node",
        arguments: [
            (
                "suite: one\nrepositories:\n  - name: x\n    mirorr: demo\n", ":4: unknown key 'mirorr'",
                "did you mean 'mirror'?"
            ),
            ("suite: one\nrepositories:\n  - name: x\n", ":3: repository 'x' needs a 'url' or a 'mirror'", ""),
            (
                "suite: one\nrepositories:\n  - {name: x, url: 'http://a', mirror: b}\n", ":3: repository 'x' has both",
                ""
            ),
            (
                "suite: one\nrepositories:\n  - name: x\n    mirror: m\n    trusted: yes\n",
                ":5: 'trusted' must be true or false", ""
            ),
            ("suite: one\ntrusted: true\n", ":2: 'trusted' is not a setting", ""),
            ("suite: one\nfamily: deeb\n", ":2: family must be deb or rpm", ""),
            ("suite: one\nsuite: two\n", ":2: duplicate key 'suite'", ""),
            ("suite: one\nsettings:\n  a: b\n", ":2: 'settings' must be a scalar setting", ""),
            ("suite: one\ncleanup: [var/log]\n", ":2: cleanup entries are absolute path globs", ""),
            ("suite: one\ncleanup: [-/not/there]\n", ":2: '-/not/there' drops a glob no upper level lists", ""),
            (
                "suite: one\nrepositories:\n  - {name: nope, drop: true}\n", ":3: 'nope' is dropped but no upper level",
                ""
            ),
            ("suite: one\narch: x\n", ":2: 'arch' is set by strata", ""),
        ])
    func semantic(yaml: String, expected: String, hint: String) throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/1/config/template.yaml", yaml)
        try fixture.write("demo/config/base.list", "hello\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(message.hasPrefix(fixture.path("demo/1/config/template.yaml") + expected), "\(message)")
        if !hint.isEmpty { #expect(message.contains(hint)) }
    }

    @Test("a tree where no level sets the family is rejected")
    func missingFamily() throws {
        let fixture = try TreeFixture(base: false)
        try fixture.write("demo/1/config/template.yaml", "suite: one\n")
        try fixture.write("demo/1/config/base.list", "hello\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(message.contains("no template.yaml sets 'family'"))
    }
}
