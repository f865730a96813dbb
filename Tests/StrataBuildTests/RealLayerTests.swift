// `strata layer debian/12/minbase/amd64 --add curl` against the host's real Debian mirror, as
// issue 13 asks: the layer builds, `dpkg --audit` inside is empty, `curl --version` runs inside,
// the tree is byte-identical to the from-scratch build of minbase plus curl, and the base's store
// objects are unchanged. Packages come from the test cache outside the clone (fetched once; later
// runs fetch only what changed); only the indexes are asked for again.
import Foundation
@testable import StrataBuild
import StrataCore
import StrataDeb
import StrataFetch
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("Layering onto minbase from the real mirror", .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct RealLayerTests {
    @Test("strata layer minbase --add curl: dpkg --audit clean, curl runs inside, byte-identical to minbase --include curl built, the base's objects unchanged")
    func curl() async throws {
        let (minbase, cache) = try await RealMirror.lock("debian/12", set: "minbase")
        let spec = try TemplateTree(root: BuildFixture.templates).load(
            target: "debian/12", set: "minbase", architecture: Architecture("amd64"))
        let planner = Planner(
            fetcher: try HTTPFetcher(store: cache), mirrors: try MirrorMap.host(packagers: .testing, overrides: []),
            packagers: .testing)
        let withCurl = try await planner.resolve(try spec.including(["curl"])).lockfile
        #expect(
            withCurl.repositories.map(\.release.sha256) == minbase.repositories.map(\.release.sha256),
            "the mirror moved between two resolutions a second apart; run again")
        // Every package into the cache once; the builds below find them there.
        let prefetch = PackageFetcher(fetcher: try HTTPFetcher(store: cache))
        _ = try await prefetch.fetchAll(minbase)
        _ = try await prefetch.fetchAll(withCurl)

        let store = try Store(root: try TemporaryDirectory.make(prefix: "strata-real-layer") + "/store")
        let builder = Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs, sharedBlobs: cache), packagers: .testing)
        let urls = Dictionary(uniqueKeysWithValues: minbase.repositories.map { ($0.name, $0.url) })
        let out = try TemporaryDirectory.make(prefix: "strata-real-layer-out")
        let base = try await builder.build(spec: spec, lock: minbase, output: "\(out)/minbase.tar", format: .tar(.none), urls: urls)
        let baseTree = try store.readTree(try store.readCommit(base.commit).tree)
        let baseObjects = Set(baseTree.entries.compactMap(\.object))

        let layer = try await builder.layer(
            Builder.LayerJob(
                base: base.commit, baseName: "debian/12/minbase/amd64", spec: spec, add: ["curl"], output: "\(out)/layer.tar",
                format: .tar(.none), urls: urls))
        #expect(layer.layered.contains { $0.name == "curl" } && layer.layered.contains { $0.name == "libcurl4" })
        // The layered set is what the from-scratch lock adds to minbase.
        let added = Set(withCurl.packages.map(\.name)).subtracting(minbase.packages.map(\.name))
        #expect(Set(layer.layered.map(\.name)) == added)

        let root = try await BuildFixture.extract(layer.build.output)
        let audit = try await BuildFixture.inChroot(root, "dpkg --audit")
        #expect(audit.status == 0 && audit.stdoutText.isEmpty, "\(audit.stdoutText)")
        let version = try await BuildFixture.inChroot(root, "curl --version")
        #expect(version.status == 0 && version.stdoutText.hasPrefix("curl "), "\(version.stdoutText)")

        let scratch = try await builder.build(
            spec: try spec.including(["curl"]), lock: withCurl, output: "\(out)/scratch.tar", format: .tar(.none), urls: urls)
        #expect(scratch.outputDigest == layer.build.outputDigest, "the layer differs from minbase --include curl built")
        if scratch.outputDigest != layer.build.outputDigest {
            try await BuildFixture.recordDifferences(root, from: scratch.output)
        }

        let report = try store.fsck()
        #expect(report.isClean, "\(report.problems)")
        for object in baseObjects { #expect(store.containsObject(object)) }
        #expect(try store.readTree(try store.readCommit(base.commit).tree) == baseTree, "the base's tree changed")
    }
}
