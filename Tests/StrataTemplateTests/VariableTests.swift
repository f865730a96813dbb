import StrataCore
import Testing

@testable import StrataTemplate

@Suite("Variable expansion")
struct VariableTests {
    @Test("${name} expands from settings of any level, recursively, in settings, repositories and globs")
    func expansion() throws {
        let fixture = try TreeFixture()
        try fixture.write("config/template.yaml", "suite: \"${codename}\"\nlogs: /var/log\n")
        try fixture.write(
            "demo/1/config/template.yaml",
            "codename: uno\ntitle: \"${distro} ${suite} on ${arch}/${basearch}, $${literal} $$HOME\"\ncleanup: [\"${logs}/*\"]\n"
        )
        try fixture.write("demo/config/base.list", "hello\n")
        let spec = try fixture.load("base")
        #expect(spec.settings["suite"] == "uno")
        #expect(spec.settings["title"] == "demo uno on amd64/x86_64, ${literal} $$HOME")
        #expect(spec.repositories.first?.suite == "uno")
        #expect(spec.cleanup == ["/var/log/*"])
    }

    @Test("an unknown variable names the file and line of the value that uses it")
    func unknownVariable() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/1/config/template.yaml", "# comment\nsuite: \"${codenam}\"\ncodename: uno\n")
        try fixture.write("demo/config/base.list", "hello\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(
            message.hasPrefix(
                fixture.path("demo/1/config/template.yaml")
                    + ":2: unknown variable '${codenam}' in '${codenam}' (did you mean 'codename'?)"), "\(message)")
    }

    @Test("an unknown variable in a repository names the upper file that holds the repository")
    func unknownVariableInRepository() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/1/config/template.yaml", "version: 1\n")
        try fixture.write("demo/config/base.list", "hello\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(message.hasPrefix(fixture.path("demo/config/template.yaml") + ":6: unknown variable '${suite}'"))
    }

    @Test("a variable cycle is an error with the chain")
    func cycle() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/1/config/template.yaml", "suite: \"${a}\"\na: \"${b}\"\nb: \"x${a}\"\n")
        try fixture.write("demo/config/base.list", "hello\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(message.contains("variable cycle: a -> b -> a"), "\(message)")
    }
}
