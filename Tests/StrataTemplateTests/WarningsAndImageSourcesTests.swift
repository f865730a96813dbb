import Foundation
import StrataCore
import Testing

@testable import StrataTemplate

@Suite("Settings nothing reads, image-url, and where each package name was written")
struct WarningsAndImageSourcesTests {
    /// The warnings `body` emits, collected for this task only.
    static func warnings(_ body: () throws -> Void) rethrows -> [String] {
        let lines = LockedBox([String]())
        try Diagnostics.$collector.withValue(Diagnostics.Collector { line in lines.update { $0.append(line) } }) { try body() }
        return lines.get()
    }

    @Test("a setting that neither strata nor any ${…} reads is warned about at its line, with a did-you-mean")
    func unreadSetting() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/base.list", "apt\n")
        try fixture.write("demo/1/config/template.yaml", "suite: one\nsuit: two\nmirror_note: ${note}\nnote: x\n")
        let lines = try Self.warnings { _ = try fixture.load("base") }
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.contains { $0.contains("demo/1/config/template.yaml:2: setting 'suit' is read by nothing") && $0.contains("did you mean 'suite'") })
        #expect(lines.contains { $0.contains("setting 'mirror_note' is read by nothing") })
        #expect(!lines.contains { $0.contains("'note'") }, "note is used as ${note}")
        try fixture.write("demo/1/config/template.yaml", "suite: one\n")
        #expect(try Self.warnings { _ = try fixture.load("base") }.isEmpty)
    }

    @Test("image-url takes a URL or 'none'; anything else is an error at its line")
    func imageURL() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/base.list", "apt\n")
        try fixture.write(
            "demo/1/config/template.yaml",
            "suite: one\nrepositories:\n  - name: local\n    url: file:///srv/repo\n    suite: one\n    image-url: http://repo.invalid/x\n  - name: other\n    url: file:///srv/other\n    suite: one\n    image-url: none\n")
        let spec = try fixture.load("base")
        #expect(spec.repositories.first { $0.name == "local" }?.imageURL == "http://repo.invalid/x")
        #expect(spec.repositories.first { $0.name == "other" }?.imageURL == RepositorySpec.notInImage)
        try fixture.write(
            "demo/1/config/template.yaml", "suite: one\nrepositories:\n  - name: local\n    url: file:///srv/repo\n    image-url: nowhere\n")
        let message = expectFailure(.invalidInput) { try fixture.load("base") }
        #expect(message.contains("template.yaml:5: image-url must be a URL or 'none'"), "\(message)")
    }

    @Test("each requested and dropped name keeps the file and line that wrote it, through @include")
    func origins() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/minbase.list", "apt\nperl-\n")
        try fixture.write("demo/1/config/standard.list", "@include minbase\nless\n")
        let spec = try fixture.load("standard")
        #expect(spec.origins["apt"]?.hasSuffix("demo/config/minbase.list:1") == true)
        #expect(spec.origins["perl"]?.hasSuffix("demo/config/minbase.list:2") == true)
        #expect(spec.origins["less"]?.hasSuffix("demo/1/config/standard.list:2") == true)
    }
}
