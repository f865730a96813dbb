import NIOHTTP1
import Testing

@testable import StrataProxy

@Suite struct RequestRouterTests {
    let router = RequestRouter(backends: [
        try! Backend(name: "debian", upstreams: [try! Upstream("https://mirror.test/debian"), try! Upstream("http://second.test:8080/debian")]),
        try! Backend(name: "rpms", upstreams: [try! Upstream("http://127.0.0.1:9000/")]),
    ])

    @Test func pathMappedRequestsNameABackend() {
        #expect(
            router.route(method: .GET, uri: "/debian/dists/stable/InRelease")
                == .file(CacheKey(backend: 0, name: "debian", path: "dists/stable/InRelease"), preferredUpstream: nil))
        #expect(router.route(method: .GET, uri: "/metrics") == .metrics)
        #expect(router.route(method: .GET, uri: "/_strata/") == .status)
    }

    @Test func forwardRequestsMatchHostPortAndBasePath() {
        // http://mirror.test/ is the plain-HTTP face of the https upstream.
        #expect(
            router.route(method: .GET, uri: "http://mirror.test/debian/pool/main/h/hello/hello_2.10_amd64.deb")
                == .file(
                    CacheKey(backend: 0, name: "debian", path: "pool/main/h/hello/hello_2.10_amd64.deb"),
                    preferredUpstream: 0))
        #expect(
            router.route(method: .GET, uri: "http://second.test:8080/debian/dists/x/Release")
                == .file(CacheKey(backend: 0, name: "debian", path: "dists/x/Release"), preferredUpstream: 1))
        #expect(
            router.route(method: .GET, uri: "http://127.0.0.1:9000/repodata/repomd.xml")
                == .file(CacheKey(backend: 1, name: "rpms", path: "repodata/repomd.xml"), preferredUpstream: 0))
    }

    @Test func pathFormDecodesOnce() {
        #expect(
            router.route(method: .GET, uri: "/mirror.test/debian/pool/foo_1%253a2.deb")
                == .file(CacheKey(backend: 0, name: "debian", path: "pool/foo_1%3a2.deb"), preferredUpstream: 0))
    }

    @Test func aptCacherNgPathFormNamesTheUpstreamHost() {
        #expect(
            router.route(method: .GET, uri: "/mirror.test/debian/dists/stable/InRelease")
                == .file(CacheKey(backend: 0, name: "debian", path: "dists/stable/InRelease"), preferredUpstream: 0))
        guard case .refuse(let status, _) = router.route(method: .GET, uri: "/elsewhere.test/debian/x.deb") else {
            Issue.record("a foreign host in path form was not refused")
            return
        }
        #expect(status == .forbidden)
    }

    @Test(arguments: [
        ("GET", "http://elsewhere.test/debian/dists/x/Release", 403),
        ("GET", "http://mirror.test/other/dists/x/Release", 403),
        ("GET", "http://second.test/debian/dists/x/Release", 403),
        ("CONNECT", "mirror.test:443", 405),
        ("POST", "/debian/dists/x/Release", 405),
        ("GET", "/debian/../etc/passwd", 400),
        ("GET", "/debian/%2e%2e/%2E%2E/etc/passwd", 400),
        ("GET", "/debian/pool/%2fetc%2fpasswd", 400),
        ("GET", "/debian/pool/a%00b", 400),
        ("GET", "/debian/pool/a%zz", 400),
        ("GET", "/debian/pool/a\\..\\b", 400),
        ("GET", "/debian/dists/x/Release?x=1", 400),
        ("GET", "http://mirror.test/debian/../../etc/passwd", 400),
        ("GET", "https://mirror.test/debian/dists/x/Release", 400),
        ("GET", "http://user@mirror.test/debian/dists/x/Release", 400),
        ("GET", "/nosuch/dists/x/Release", 404),
    ])
    func hostileOrForeignRequestsAreRefused(method: String, uri: String, status: Int) {
        guard case .refuse(let answered, _) = router.route(method: HTTPMethod(rawValue: method), uri: uri) else {
            Issue.record("\(method) \(uri) was not refused")
            return
        }
        #expect(Int(answered.code) == status, "\(method) \(uri)")
    }

    @Test func packagesAreImmutableIndexesAreNot() {
        #expect(RequestRouter.classify("pool/main/h/hello/hello_2.10_amd64.deb") == .immutable)
        #expect(RequestRouter.classify("dists/stable/main/binary-amd64/by-hash/SHA256/abc") == .immutable)
        #expect(RequestRouter.classify("Packages/h/hello-1.0-1.x86_64.rpm") == .immutable)
        #expect(
            RequestRouter.classify("repodata/\(String(repeating: "a", count: 64))-primary.xml.gz") == .immutable)
        #expect(RequestRouter.classify("dists/stable/InRelease") == .index)
        #expect(RequestRouter.classify("dists/stable/main/binary-amd64/Packages.xz") == .index)
        #expect(RequestRouter.classify("repodata/repomd.xml") == .index)
        #expect(RequestRouter.classify("repodata/primary.xml.gz") == .index)
        // A suite's installer images change in place: only by-hash files under dists/ are immutable.
        #expect(RequestRouter.classify("dists/bookworm/main/installer-amd64/current/images/netboot/netboot.tar.gz") == .index)
        #expect(RequestRouter.classify("debian/dists/bookworm/main/source/Sources.xz") == .index)
        #expect(RequestRouter.classify("pool/main/h/hello/hello_2.10.orig.tar.gz") == .immutable)
    }

    @Test func upstreamPathsArePercentEncoded() {
        #expect(RequestRouter.encode("pool/main/a/apt/apt_2.6.1:1_amd64.deb") == "pool/main/a/apt/apt_2.6.1%3A1_amd64.deb")
        // `+` goes as %2B, as apt sends it (S3-backed repositories read a bare `+` as a space).
        #expect(
            RequestRouter.encode("pool/main/g/gcc/libstdc++6_12+deb12u1.deb") == "pool/main/g/gcc/libstdc%2B%2B6_12%2Bdeb12u1.deb")
    }

    @Test func rangesFollowRFC9110() {
        typealias H = ProxyConnectionHandler
        // Not DIGITs: ignored (the whole file), not 416.
        #expect(H.parseRange("bytes=--1", size: 1000) == H.RangeRequest.none)
        #expect(H.parseRange("bytes=+5-9", size: 1000) == H.RangeRequest.none)
        #expect(H.parseRange("bytes=5-+9", size: 1000) == H.RangeRequest.none)
        #expect(H.parseRange("bytes=-+9", size: 1000) == H.RangeRequest.none)
        #expect(H.parseRange("bytes=9-5", size: 1000) == H.RangeRequest.none)
        #expect(H.parseRange("bytes=0-99", size: 1000) == .range(0..<100))
        #expect(H.parseRange("bytes=900-", size: 1000) == .range(900..<1000))
        #expect(H.parseRange("bytes=-100", size: 1000) == .range(900..<1000))
        #expect(H.parseRange("bytes=990-2000", size: 1000) == .range(990..<1000))
        #expect(H.parseRange("bytes=1000-", size: 1000) == .unsatisfiable)
        #expect(H.parseRange("bytes=0-1,5-9", size: 1000) == .none)
        #expect(H.parseRange("items=0-1", size: 1000) == .none)
    }
}
