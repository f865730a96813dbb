import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataProxy

@Suite struct ProxyConfigurationTests {
    @Test func yamlFileSetsEverything() throws {
        let dir = try TemporaryDirectory.make(prefix: "proxyconf")
        let path = "\(dir)/proxy.yaml"
        try Data(
            """
            listen: 0.0.0.0:8080
            cache: /srv/cache
            index-ttl: 2m
            negative-ttl: 10
            grace: 7d
            max-size: 50G
            clean-interval: 0
            access-log: "off"
            backends:
              debian: [https://mirror-a.test/debian, http://mirror-b.test/debian]
              rpms: http://rpms.test/repo
            """.utf8
        ).write(to: URL(fileURLWithPath: path))
        var configuration = ProxyConfiguration()
        try configuration.load(file: path)
        #expect(configuration.listenAddress == "0.0.0.0:8080")
        #expect(configuration.cacheDirectory == "/srv/cache")
        #expect(configuration.indexTTL == .seconds(120))
        #expect(configuration.negativeTTL == .seconds(10))
        #expect(configuration.grace == .seconds(7 * 86_400))
        #expect(configuration.maxSize == 50 << 30)
        #expect(configuration.cleanInterval == nil)
        #expect(configuration.accessLog == nil)
        #expect(configuration.backends.map(\.name) == ["debian", "rpms"])
        #expect(configuration.backends[0].upstreams.map(\.description) == ["https://mirror-a.test/debian", "http://mirror-b.test/debian"])
    }

    @Test(arguments: [
        ("listen: nowhere\n", "'listen'"),
        ("colour: blue\n", "unknown setting 'colour'"),
        ("backends:\n  debian: ftp://mirror.test/debian\n", "backends.debian"),
        ("backends:\n  ../x: http://mirror.test/\n", "backends.../x"),
        ("index-ttl: soon\n", "'index-ttl'"),
        ("- a list\n", "mapping"),
    ])
    func badFilesNameTheFileAndTheKey(text: String, expected: String) throws {
        let path = try TemporaryDirectory.make(prefix: "proxyconf") + "/proxy.yaml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var configuration = ProxyConfiguration()
        do {
            try configuration.load(file: path)
            Issue.record("accepted: \(text)")
        } catch let error as StrataError {
            #expect(error.message.contains(path), "\(error.message)")
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func hostAptSourcesBecomeBackends() throws {
        let root = try TemporaryDirectory.make(prefix: "aptroot")
        try FileManager.default.createDirectory(atPath: "\(root)/etc/apt/sources.list.d", withIntermediateDirectories: true)
        try Data(
            """
            Types: deb
            URIs: http://mirror.test/debian
            Suites: bookworm bookworm-updates
            Components: main

            Types: deb
            URIs: http://security.test/debian-security
            Suites: bookworm-security
            Components: main
            """.utf8
        ).write(to: URL(fileURLWithPath: "\(root)/etc/apt/sources.list.d/debian.sources"))
        try Data("deb http://mirror.test/debian bookworm main\ndeb http://other.test/debian sid main\n".utf8)
            .write(to: URL(fileURLWithPath: "\(root)/etc/apt/sources.list"))
        var configuration = ProxyConfiguration()
        configuration.addHostAptSources(root: root)
        #expect(configuration.backends.map(\.name) == ["debian", "debian-security", "debian-2"])
        #expect(configuration.backends.map { $0.upstreams[0].description } == [
            "http://mirror.test/debian", "http://security.test/debian-security", "http://other.test/debian",
        ])
    }
}
