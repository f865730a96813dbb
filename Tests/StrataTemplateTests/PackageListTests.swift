import StrataCore
import Testing

@testable import StrataTemplate

@Suite("Package lists")
struct PackageListTests {
    @Test("a lower level's 'name-' drops an inherited package and records it as dropped")
    func dropInherited() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/base.list", "alpha\nfoo\nbeta\n")
        try fixture.write("demo/1/config/base.list", "foo-\n")
        let spec = try fixture.load("base")
        #expect(spec.packages == ["alpha", "beta"])
        #expect(spec.dropped == ["foo"])
    }

    @Test("a later 'name' re-adds a dropped package at the end and forgets the drop")
    func readdAfterDrop() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/base.list", "foo\nalpha\nfoo-   # gone\n")
        try fixture.write("demo/1/config/base.list", "\n# back again\nfoo\n")
        let spec = try fixture.load("base")
        #expect(spec.packages == ["alpha", "foo"])
        #expect(spec.dropped.isEmpty)
    }

    @Test("comments, blank lines and selectors parse; '?priority(x)-' drops a selector")
    func selectors() throws {
        let fixture = try TreeFixture()
        try fixture.write(
            "demo/config/base.list",
            "# header\n\n?essential\n?priority(required)   # trailing comment\n?priority(important)\n")
        try fixture.write("demo/1/config/base.list", "?priority(important)-\n")
        let spec = try fixture.load("base")
        #expect(spec.selectors == [.essential, .priority("required")])
        #expect(spec.packages.isEmpty)
    }

    @Test("@include inserts the other set merged across all levels, and drops in it carry over")
    func include() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/core.list", "?essential\ncore-a\ncore-b\n")
        try fixture.write("demo/1/config/core.list", "core-b-\ncore-c\n")
        try fixture.write("demo/config/full.list", "first\n@include core\nlast\n")
        let spec = try fixture.load("full")
        #expect(spec.packages == ["first", "core-a", "core-c", "last"])
        #expect(spec.selectors == [.essential])
        #expect(spec.dropped == ["core-b"])
        #expect(try fixture.tree.sets(target: "demo/1", architecture: Architecture("amd64")) == ["core", "full"])
    }

    @Test("an @include cycle is reported at the include that closes it, with the chain")
    func includeCycle() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/standard.list", "@include minbase\n")
        try fixture.write("demo/config/minbase.list", "apt\n# then\n@include standard\n")
        let message = expectFailure(.invalidInput) { try fixture.load("minbase") }
        #expect(
            message == fixture.path("demo/config/standard.list") + ":1: @include cycle: minbase -> standard -> minbase")
        let selfMessage = expectFailure(.invalidInput) {
            try fixture.write("demo/config/loop.list", "@include loop\n")
            return try fixture.load("loop")
        }
        #expect(selfMessage.hasSuffix("loop.list:1: @include cycle: loop -> loop"))
    }

    @Test(
        "each malformed line is reported with its full file path and line",
        arguments: [
            ("ok\n\n@inclde minbase\n", ":3: unknown directive '@inclde' (did you mean '@include'?)"),
            ("Bad_Name\n", ":1: invalid package name 'Bad_Name'"),
            ("ok\nfoo--\n", ":2: invalid package name 'foo-'"),
            ("ab\n?priority(required\n", ":2: unsupported selector '?priority(required'"),
            ("?essentail\n", ":1: unsupported selector '?essentail' (did you mean '?essential'?)"),
            ("?name(foo)\n", ":1: unsupported selector '?name(foo)'"),
            ("?priority(Required)\n", ":1: invalid priority 'Required'"),
            ("two words\n", ":1: one entry per line, found 2: 'two words'"),
            ("@include\n", ":1: @include takes one set name, found 0"),
        ])
    func malformedLine(text: String, expected: String) throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/1/config/broken.list", text)
        let message = expectFailure(.invalidInput) { try fixture.load("broken") }
        #expect(message.hasPrefix(fixture.path("demo/1/config/broken.list") + expected), "\(message)")
    }

    @Test("@include of a set that does not exist names the line and the sets there are")
    func includeMissing() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/base.list", "x1\n@include minbse\n")
        try fixture.write("demo/config/minbase.list", "apt\n")
        let message = expectFailure(.notFound) { try fixture.load("base") }
        #expect(
            message == fixture.path("demo/config/base.list")
                + ":2: @include of unknown set 'minbse' (did you mean 'minbase'?) (sets: base, minbase)")
    }

    @Test("rpm trees accept capitals and underscores in names; deb trees do not")
    func rpmNames() throws {
        #expect(PackageList.isPackageName("NetworkManager", family: .rpm))
        #expect(PackageList.isPackageName("perl_Foo.x", family: .rpm))
        #expect(!PackageList.isPackageName("NetworkManager", family: .deb))
        #expect(!PackageList.isPackageName("a", family: .deb))
        #expect(PackageList.isPackageName("libstdc++6", family: .deb))
        #expect(!PackageList.isPackageName("foo-", family: .rpm))
    }
}

@Suite("Application templates (@base)")
struct ApplicationTemplateTests {
    @Test("@base makes a set an application template: its names are additions, its drops removals; a lower level's @base wins")
    func base() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/minbase.list", "apt\nnano\n")
        try fixture.write("demo/config/small.list", "@include minbase\nnano-\n")
        try fixture.write("demo/config/web.list", "@base minbase\nnginx\nnano-  # from the base\n")
        try fixture.write("demo/1/config/web.list", "@base small\ncertbot\n")
        let spec = try fixture.load("web")
        #expect(spec.base == "small")
        #expect(spec.packages == ["nginx", "certbot"])
        #expect(spec.dropped == ["nano"])
        #expect(spec.origins["@base"] == fixture.path("demo/1/config/web.list") + ":1")
        #expect(try fixture.load("minbase").base == nil)
    }

    @Test("an @include of a set of package names adds them to an application template's requests")
    func includeNames() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/minbase.list", "?essential\napt\n")
        try fixture.write("demo/config/tools.list", "curl\nwget\n")
        try fixture.write("demo/config/web.list", "@base minbase\nnginx\n@include tools\n")
        let spec = try fixture.load("web")
        #expect(spec.base == "minbase" && spec.packages == ["nginx", "curl", "wget"] && spec.selectors.isEmpty)
    }

    @Test("@base is in the configuration digest; a base set's digest does not depend on the application sets naming it")
    func digest() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/minbase.list", "apt\n")
        try fixture.write("demo/config/other.list", "apt\n")
        try fixture.write("demo/config/plain.list", "nginx\n")
        try fixture.write("demo/config/web.list", "@base minbase\nnginx\n")
        let before = try fixture.load("minbase").configDigest
        try fixture.write("demo/config/web2.list", "@base other\nnginx\n")
        #expect(try fixture.load("minbase").configDigest == before)
        #expect(try fixture.load("web").configDigest != fixture.load("web2").configDigest)
        #expect(try fixture.load("web").configDigest != fixture.load("plain").configDigest)
    }

    @Test("an unknown base, a @base cycle, a selector in an application template and an @include of one are errors at their line")
    func errors() throws {
        let fixture = try TreeFixture()
        try fixture.write("demo/config/minbase.list", "?essential\napt\n")
        try fixture.write("demo/config/web.list", "@base minbsae\nnginx\n")
        let unknown = expectFailure(.notFound) { try fixture.load("web") }
        #expect(unknown.hasPrefix(fixture.path("demo/config/web.list") + ":1: @base of unknown set 'minbsae'"), "\(unknown)")
        #expect(unknown.contains("did you mean 'minbase'"), "\(unknown)")

        try fixture.write("demo/config/a.list", "@base b\nx1\n")
        try fixture.write("demo/config/b.list", "@base a\nx2\n")
        let cycle = expectFailure(.invalidInput) { try fixture.load("a") }
        #expect(cycle == fixture.path("demo/config/b.list") + ":1: @base cycle: a -> b -> a", "\(cycle)")

        try fixture.write("demo/config/sel.list", "@base minbase\n?priority(important)\n")
        let selector = expectFailure(.invalidInput) { try fixture.load("sel") }
        #expect(
            selector.hasPrefix(fixture.path("demo/config/sel.list") + ":2: set sel is an application template (@base minbase at "),
            "\(selector)")
        #expect(selector.contains("not selectors such as ?priority(important)"), "\(selector)")

        // A selector an @include brings is refused at that @include.
        try fixture.write("demo/config/inc.list", "@base minbase\nnginx\n@include minbase\n")
        let included = expectFailure(.invalidInput) { try fixture.load("inc") }
        #expect(included.hasPrefix(fixture.path("demo/config/inc.list") + ":3: set inc is an application template"), "\(included)")
        #expect(included.contains("such as ?essential"), "\(included)")

        try fixture.write("demo/config/web.list", "@base minbase\nnginx\n")
        try fixture.write("demo/config/mix.list", "@include web\n")
        let include = expectFailure(.invalidInput) { try fixture.load("mix") }
        #expect(include.hasPrefix(fixture.path("demo/config/mix.list") + ":1: @include web: it is an application template"), "\(include)")

        try fixture.write("demo/config/two.list", "@base minbase extra\n")
        let words = expectFailure(.invalidInput) { try fixture.load("two") }
        #expect(words.hasSuffix(":1: @base takes one set name, found 2"), "\(words)")
    }
}
