import Foundation
import StrataCore
import Testing

@testable import StrataTemplate

@Suite("configDigest")
struct ConfigDigestTests {
    private func tree() throws -> TreeFixture {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/base.list", "?essential\nalpha\nbeta-\n")
        try fixture.write("demo/config/hook.sh", "echo hi\n")
        return fixture
    }

    @Test("loading the same tree twice, or a copy of it elsewhere, gives the same digest")
    func stable() throws {
        let first = try tree()
        let second = try tree()
        let a = try first.load("base")
        #expect(try first.load("base").configDigest == a.configDigest)
        #expect(try second.load("base").configDigest == a.configDigest)
        #expect(a.configDigest != SHA256Digest.of([UInt8]()))
    }

    @Test(
        "any change to settings, lists, repositories, globs or other files changes the digest",
        arguments: [
            ("demo/1/config/template.yaml", "suite: two\n"),
            ("demo/1/config/template.yaml", "suite: one\nextra: x\n"),
            ("demo/1/config/template.yaml", "suite: one\ncleanup: [/tmp/*]\n"),
            ("demo/1/config/template.yaml", "suite: one\nrepositories: [{name: main, mirror: demo, suite: one}]\n"),
            (
                "demo/1/config/template.yaml",
                "suite: one\nrepositories: [{name: main, mirror: demo, suite: one, components: [main], trusted: true}]\n"
            ),
            ("demo/1/config/base.list", "gamma\n"),
            ("demo/1/config/base.list", "beta\n"),
            ("demo/1/config/base.list", "?priority(required)\n"),
            ("demo/1/config/hook.sh", "echo bye\n"),
        ])
    func sensitive(file: String, text: String) throws {
        let fixture = try tree()
        let before = try fixture.load("base")
        try fixture.write(file, text)
        let after = try fixture.load("base")
        #expect(after.configDigest != before.configDigest)
        #expect(after.configDigest == (try after.computeConfigDigest()))
    }

    @Test("the digest does not depend on the order settings are written in")
    func settingOrder() throws {
        let a = try tree()
        let b = try tree()
        try a.write("demo/1/config/template.yaml", "suite: one\nx: 1\ny: 2\n")
        try b.write("demo/1/config/template.yaml", "y: 2\nx: 1\nsuite: one\n")
        #expect(try a.load("base").configDigest == (try b.load("base").configDigest))
    }
}
