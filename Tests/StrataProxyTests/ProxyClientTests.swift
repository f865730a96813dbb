// Real clients through the proxy: apt-get (forward proxy and path-mapped mirror) against the
// signed fixture archive, and dnf (its Python API, what `dnf install --downloadonly` runs) against
// the rpm-md fixture, each served by a loopback upstream.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataProxy

private let dnfPresent =
    FileManager.default.isExecutableFile(atPath: "/usr/bin/dnf")
    && FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/dnf/base.py")

@Suite("Real clients through the proxy", .timeLimit(.minutes(4)))
struct ProxyClientTests {
    /// One apt client with a fresh state directory: update, then download `app` and its dependencies.
    private func aptRound(sources: [String], settings: [(String, String)]) async throws -> [String] {
        let apt = try AptOracle(sources: sources, extraSettings: settings)
        try await apt.update()
        _ = try await apt.apt("apt-get", ["install", "--download-only", "-y", "app"])
        let archives = "\(apt.root)/cache/archives"
        return try FileManager.default.contentsOfDirectory(atPath: archives).filter { $0.hasSuffix(".deb") }.sorted()
    }

    /// The first round fetches everything once; the second (a new client) makes the upstream see
    /// index revalidations only (the index TTL is zero, so every index request revalidates).
    private func checkTwoRounds(
        upstream: LoopbackHTTPServer, repo: DebFixtureRepo, round: () async throws -> [String]
    ) async throws {
        let first = try await round()
        #expect(first == ["app_1.0-1_amd64.deb", "editor-vim_2%3a9.0.1378-2_amd64.deb", "libc-mini_2.36-9+deb12u1_amd64.deb"])
        let firstRequests = upstream.requests
        #expect(firstRequests.allSatisfy { $0.headers["user-agent"] == "strata-proxy" }, "\(firstRequests)")
        let packagePaths = firstRequests.map(\.path).filter { $0.hasPrefix("/pool/") }
        #expect(packagePaths.count == 3)
        #expect(Set(packagePaths).count == packagePaths.count, "a package was fetched twice: \(packagePaths)")

        upstream.resetRequests()
        let second = try await round()
        #expect(second == first)
        let secondRequests = upstream.requests
        #expect(!secondRequests.isEmpty, "the zero index TTL should have revalidated InRelease")
        for request in secondRequests {
            #expect(!request.path.hasPrefix("/pool/"), "package fetched again: \(request.path)")
            #expect(request.status == 304, "not a revalidation: \(request)")
            #expect(request.headers["if-none-match"] != nil || request.headers["if-modified-since"] != nil)
        }
    }

    @Test("apt-get update and install --download-only through the forward proxy")
    func aptForwardProxy() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { upstream in
            try await ProxyHarness.with(backends: ["fixture=\(upstream.baseURL)"], indexTTL: .zero) { proxy in
                try await checkTwoRounds(upstream: upstream, repo: repo) {
                    try await aptRound(
                        sources: repo.sourcesLines(baseURL: upstream.baseURL),
                        settings: [("Acquire::http::Proxy", proxy.url)])
                }
                let metrics = try await proxy.get("/metrics")
                let text = String(decoding: metrics.body, as: UTF8.self)
                #expect(text.contains("strata_proxy_upstream_not_modified_total"))
            }
        }
    }

    @Test("apt-get update and install --download-only through the path-mapped mirror")
    func aptPathMapped() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { upstream in
            try await ProxyHarness.with(backends: ["fixture=\(upstream.baseURL)"], indexTTL: .zero) { proxy in
                try await checkTwoRounds(upstream: upstream, repo: repo) {
                    try await aptRound(sources: repo.sourcesLines(baseURL: "\(proxy.url)/fixture/"), settings: [])
                }
            }
        }
    }

    @Test(
        "dnf downloads an rpm-md repository's packages through the proxy",
        .enabled(if: dnfPresent, "needs dnf (apt-get install dnf)"))
    func dnfThroughProxy() async throws {
        let repo = try await RpmFixtureRepo.standard()
        let script = """
            import sys, dnf
            root, url, proxy, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
            base = dnf.Base()
            c = base.conf
            c.installroot = root
            c.reposdir = []
            c.cachedir = root + "/cache"
            c.substitutions["releasever"] = "39"
            c.substitutions["basearch"] = "x86_64"
            c.install_weak_deps = False
            c.gpgcheck = False
            c.proxy = proxy
            base.repos.add_new_repo("fixture", c, baseurl=[url], repo_gpgcheck=False, gpgcheck=False)
            base.fill_sack(load_system_repo=False)
            for n in names:
                base.install(n)
            base.resolve()
            pkgs = sorted(base.transaction.install_set, key=lambda p: p.name)
            base.download_packages(pkgs)
            for p in pkgs:
                print(p.localPkg())
            """
        try await LoopbackHTTPServer.withServer(serving: repo.root) { upstream in
            try await ProxyHarness.with(backends: ["rpms=\(upstream.baseURL)"], indexTTL: .zero) { proxy in
                for round in 1...2 {
                    if round == 2 { upstream.resetRequests() }
                    let root = try TemporaryDirectory.make(prefix: "dnfroot")
                    let result = try await Shell.run(
                        "/usr/bin/python3", ["-c", script, root, upstream.baseURL, proxy.url, "foo-tools"],
                        timeout: .seconds(90))
                    let files = result.output.split(separator: "\n").map(String.init)
                    #expect(files.count >= 2, "dnf downloaded: \(files)")
                    for file in files {
                        let name = (file as NSString).lastPathComponent
                        guard let built = repo.packages.first(where: { ($0.path as NSString).lastPathComponent == name })
                        else {
                            Issue.record("dnf downloaded \(name), which the fixture does not have")
                            continue
                        }
                        #expect(try SHA256Digest.of(file: file) == built.sha256)
                    }
                }
                // The second client: repomd.xml revalidated, nothing else fetched.
                for request in upstream.requests {
                    #expect(request.status == 304, "fetched again: \(request.path)")
                    #expect(request.path.hasSuffix("repomd.xml"), "\(request.path)")
                }
                #expect(upstream.requests.allSatisfy { $0.headers["user-agent"] == "strata-proxy" })
            }
        }
    }
}
