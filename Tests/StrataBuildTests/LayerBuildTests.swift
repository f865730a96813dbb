// Layers built for real: debian/12 minbase plus the fixture packages of BuildFixture (a file
// trigger, a conffile, an alternative, a dummy), layered onto a built base and checked against
// from-scratch builds of the same sets: byte-identical outputs, dpkg --audit clean inside, the
// base's store objects unchanged, a layer of a layer, removals, status and upgrade.
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

@Suite("Layering onto a built debian/12 minbase", .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct LayerBuildTests {
    struct Fixture {
        let store: Store
        let builder: Builder
        let tree: String
        let urls: [String: String]
        let server: LoopbackHTTPServer

        func spec(_ set: String) throws -> TemplateSpec {
            try TemplateTree(root: tree).load(target: "debian/12", set: set, architecture: Architecture("amd64"))
        }

        /// A from-scratch build of `set`, resolved against the loopback copies.
        func build(_ set: String, urls: [String: String]? = nil) async throws -> Builder.Result {
            let spec = try spec(set)
            let urls = urls ?? self.urls
            let lock = try await DebPackager().resolve(ResolveRequest(spec: spec, urls: urls), fetcher: builder.fetcher).lockfile
            let output = try TemporaryDirectory.make(prefix: "strata-layer-out") + "/\(set).tar"
            return try await builder.build(spec: spec, lock: lock, output: output, format: .tar(.none), urls: urls)
        }

        func layer(
            _ base: String, add: [String], remove: [String] = [], as name: String? = nil, urls: [String: String]? = nil
        ) async throws -> Builder.LayerResult {
            try await builder.layer(try job(base, add: add, remove: remove, as: name, urls: urls))
        }

        func job(
            _ base: String, add: [String], remove: [String] = [], as name: String? = nil, urls: [String: String]? = nil
        ) throws -> Builder.LayerJob {
            let id = try store.resolveCommit(base)
            let commit = try store.readCommit(id)
            let spec = try spec(commit.origin[Builder.LayerOrigin.templateSet] ?? commit.origin["set"] ?? "")
            let output = try TemporaryDirectory.make(prefix: "strata-layer-out") + "/layer.tar"
            return Builder.LayerJob(
                base: id, baseName: base, spec: spec, add: add, remove: remove, name: name, output: output,
                format: .tar(.none), urls: urls ?? self.urls)
        }

        func write(_ list: String, _ text: String) throws {
            try text.write(toFile: "\(tree)/debian/12/config/\(list).list", atomically: true, encoding: .utf8)
        }
    }

    /// Runs `body` with a new store, the fixture archive served and the sets
    /// hooks (minbase + strata-hooks), all (hooks + strata-plugin + strata-demo + strata-wants-kernel).
    static func withFixture(_ body: (Fixture) async throws -> Void) async throws {
        let served = try await LocalMirror.shared.minbase()
        try await BuildFixture.withArchive(list: "@include minbase\n") { tree, server in
            let config = "\(tree)/debian/12/config"
            try "@include minbase\nstrata-hooks\n".write(toFile: "\(config)/hooks.list", atomically: true, encoding: .utf8)
            try "@include hooks\nstrata-plugin\n".write(toFile: "\(config)/plugin.list", atomically: true, encoding: .utf8)
            try "@include plugin\nstrata-demo\nstrata-wants-kernel\n".write(
                toFile: "\(config)/all.list", atomically: true, encoding: .utf8)
            let store = try Store(root: try TemporaryDirectory.make(prefix: "strata-layer") + "/store")
            var urls = Dictionary(uniqueKeysWithValues: served.localLock.repositories.map { ($0.name, $0.url) })
            urls["extra"] = server.baseURL
            let builder = Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs), packagers: .testing)
            try await body(Fixture(store: store, builder: builder, tree: tree, urls: urls, server: server))
        }
    }

    @Test("a layer is byte-identical to the from-scratch build of its sets; the base's trigger fires for the layer's file; dpkg --audit is clean")
    func layerEqualsScratch() async throws {
        try await Self.withFixture { fixture in
            let base = try await fixture.build("hooks")
            let baseTree = try fixture.store.readTree(try fixture.store.readCommit(base.commit).tree)
            let baseObjects = Set(baseTree.entries.compactMap(\.object))

            // strata-plugin's file is in the directory strata-hooks (in the base) watches.
            let plugin = try await fixture.layer("debian/12/hooks/amd64", add: ["strata-plugin", "apt"], as: "plugin")
            #expect(plugin.ref == "debian/12/plugin/amd64")
            #expect(plugin.layered.map(\.name) == ["strata-plugin"])
            #expect(plugin.inactive["apt"]?.hasPrefix("apt ") == true, "\(plugin.inactive)")
            let root = try await BuildFixture.extract(plugin.build.output)
            let seen = try? String(contentsOfFile: "\(root)/var/lib/strata-hooks.seen", encoding: .utf8)
            #expect(seen == "one\n", "the base's file trigger did not fire for the layered file")
            let audit = try await BuildFixture.inChroot(root, "dpkg --audit")
            #expect(audit.status == 0 && audit.stdoutText.isEmpty, "\(audit.stdoutText)")

            // A layer of a layer, with a conffile, an alternative and a dummy.
            let all = try await fixture.layer("debian/12/plugin/amd64", add: ["strata-demo", "strata-wants-kernel"], as: "all")
            #expect(Set(all.layered.map(\.name)) == ["strata-demo", "strata-wants-kernel"])
            let allRoot = try await BuildFixture.extract(all.build.output)
            let dummy = try await BuildFixture.inChroot(allRoot, "dpkg-query -W -f='${Status} ${Version}' fake-kernel")
            #expect(dummy.stdoutText == "install ok installed 1.0", "the dummy is recorded as installed")
            let alternative = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(allRoot)/etc/alternatives/strata-demo")
            #expect(alternative == "/usr/bin/strata-demo-impl")
            let allAudit = try await BuildFixture.inChroot(allRoot, "dpkg --audit")
            #expect(allAudit.status == 0 && allAudit.stdoutText.isEmpty, "\(allAudit.stdoutText)")
            let commit = try fixture.store.readCommit(all.build.commit)
            #expect(commit.parents.first == plugin.build.commit, "a layer's first parent is its base")
            #expect(commit.origin[Builder.LayerOrigin.templateSet] == "hooks")

            // From scratch, the same sets give the same bytes.
            let scratchPlugin = try await fixture.build("plugin")
            let scratchAll = try await fixture.build("all")
            #expect(scratchPlugin.outputDigest == plugin.build.outputDigest, "minbase+hooks layered with plugin differs from the plugin set built")
            #expect(scratchAll.outputDigest == all.build.outputDigest, "the layer of a layer differs from the all set built")
            if scratchAll.outputDigest != all.build.outputDigest {
                try await BuildFixture.recordDifferences(allRoot, from: scratchAll.output)
            }

            // The layer's SBOM names its bases' packages and its own, as the set built whole does
            // (the dummy is in neither: nothing was downloaded for it).
            let sbomOf = { (id: SHA256Digest) in
                try Builder.sbom(of: try fixture.store.readCommit(id), in: fixture.store, packagers: .testing).packages
                    .map { "\($0.locked.name) \($0.locked.version) \($0.locked.sha256.hex)" }
            }
            let layered = try sbomOf(all.build.commit)
            #expect(layered == (try sbomOf(scratchAll.commit)))
            #expect(layered.contains { $0.hasPrefix("strata-plugin ") } && layered.contains { $0.hasPrefix("strata-demo ") })
            #expect(!layered.contains { $0.hasPrefix("fake-kernel ") })

            // The base's objects are untouched and the store is consistent.
            let report = try fixture.store.fsck()
            #expect(report.isClean, "\(report.problems)")
            for object in baseObjects { #expect(fixture.store.containsObject(object)) }
        }
    }

    @Test("--remove purges a leaf with the tree's dpkg and refuses what a staying package needs; upgrade follows a rebuilt base: a bumped base package, a request the base dropped layered again; status --json says what moved")
    func removeAndUpgrade() async throws {
        try await Self.withFixture { fixture in
            // The base has strata-orig, so requesting it is inactive.
            try fixture.write("hooks", "@include minbase\nstrata-hooks\nstrata-orig\n")
            let base = try await fixture.build("hooks")
            let plugin = try await fixture.layer("debian/12/hooks/amd64", add: ["strata-plugin", "strata-orig"], as: "plugin")
            #expect(plugin.layered.map(\.name) == ["strata-plugin"])
            #expect(plugin.inactive.keys.sorted() == ["strata-orig"])
            let noOrig = try await fixture.layer("debian/12/hooks/amd64", add: [], remove: ["strata-orig"], as: "noorig")
            #expect(noOrig.removed == ["strata-orig"])

            // A refused removal names the chain; the store is unchanged by it.
            let refs = try fixture.store.refs()
            let refused = await #expect(throws: StrataError.self) {
                try await fixture.layer("debian/12/plugin/amd64", add: [], remove: ["strata-hooks"], as: "nohooks")
            }
            #expect(refused?.message.contains("strata-hooks is needed by strata-plugin 1.0-1 (Depends: strata-hooks)") == true, "\(refused?.message ?? "")")
            #expect(try fixture.store.refs() == refs, "a refused removal left a ref")

            // Removing a leaf runs dpkg --purge inside: the file and the stanza are gone, the base's trigger saw it go.
            let unplugged = try await fixture.layer("debian/12/plugin/amd64", add: [], remove: ["strata-plugin"], as: "unplugged")
            #expect(unplugged.removed == ["strata-plugin"])
            let root = try await BuildFixture.extract(unplugged.build.output)
            #expect(!FileManager.default.fileExists(atPath: "\(root)/usr/share/strata-hooks/plugins/one"))
            let query = try await BuildFixture.inChroot(root, "dpkg-query -W -f='${Status}' strata-plugin; dpkg --audit")
            #expect(!query.stdoutText.contains("installed"), "\(query.stdoutText)")
            let seen = try? String(contentsOfFile: "\(root)/var/lib/strata-hooks.seen", encoding: .utf8)
            #expect(seen == "", "the base's trigger did not run for the removed file: \(seen ?? "nil")")

            // The base moves on: strata-hooks bumped, strata-orig dropped from its list.
            var bumped = BuildFixture.extras
            for index in bumped.indices where bumped[index].name == "strata-hooks" { bumped[index].version = "1.1-1" }
            let key = try await TestGPGKey.archive()
            let repo = try await DebFixtureRepo.build(
                packages: bumped, suites: [DebSuite(name: "stable", codename: "strata")], key: key)
            try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
                var urls = fixture.urls
                urls["extra"] = server.baseURL
                try fixture.write("hooks", "@include minbase\nstrata-hooks\n")
                let newBase = try await fixture.build("hooks", urls: urls)
                #expect(newBase.commit != base.commit)

                let status = try LayerStatus(store: fixture.store, name: "debian/12/plugin/amd64", packagers: .testing)
                #expect(status.layer?.moved == true)
                #expect(status.baseChange?.packages == ["~ strata-hooks 1.0-1 -> 1.1-1", "- strata-orig"], "\(status.baseChange?.packages ?? [])")
                #expect(status.baseChange?.activeAgain == ["strata-orig"])
                let json = try JSONSerialization.jsonObject(with: Data(try status.json())) as? [String: Any]
                let jsonBase = json?["base"] as? [String: Any]
                #expect(jsonBase?["moved"] as? Bool == true && jsonBase?["current"] as? String == newBase.commit.hex, "\(json ?? [:])")
                #expect((json?["inactive"] as? [String]) == ["strata-orig"])
                #expect((json?["layered"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["strata-plugin"])

                // The dry run says what the upgrade does; the upgrade does it.
                let layer = try #require(status.layer)
                let job = try fixture.job(layer.baseName, add: layer.add, remove: layer.remove, as: "plugin", urls: urls)
                let plan = try await fixture.builder.planLayer(job)
                let change = UpgradeChange(status: status, layer: layer, plan: plan, onto: newBase.commit)
                #expect(change.layered == ["+ strata-orig 1.0-1"], "\(change.layered)")
                #expect(change.activeAgain == ["strata-orig"] && change.nowInactive.isEmpty)
                let upgraded = try await fixture.builder.layer(job)
                #expect(Set(upgraded.layered.map(\.name)) == ["strata-plugin", "strata-orig"])
                #expect(try fixture.store.readCommit(upgraded.build.commit).parents.first == newBase.commit)
                // A removal the new base no longer needs: status says so, the upgrade removes nothing.
                let noOrigStatus = try LayerStatus(store: fixture.store, name: "debian/12/noorig/amd64", packagers: .testing)
                #expect(noOrigStatus.baseChange?.alreadyGone == ["strata-orig"])
                var noOrigJob = try fixture.job("debian/12/hooks/amd64", add: [], remove: ["strata-orig"], as: "noorig", urls: urls)
                noOrigJob.removalsMayBeGone = true
                let noOrigUpgraded = try await fixture.builder.layer(noOrigJob)
                #expect(noOrigUpgraded.removed.isEmpty && noOrigUpgraded.layered.isEmpty)
                let strict = await #expect(throws: StrataError.self) {
                    try await fixture.layer("debian/12/hooks/amd64", add: [], remove: ["strata-orig"], as: "noorig2", urls: urls)
                }
                #expect(strict?.message.contains("the base has no package 'strata-orig' installed") == true)

                let after = try LayerStatus(store: fixture.store, name: "debian/12/plugin/amd64", packagers: .testing)
                #expect(after.layer?.moved == false && after.layer?.inactive == [] && after.baseChange == nil)

                // The upgraded layer is what the new base plus the requests gives from scratch.
                try fixture.write("plugin2", "@include hooks\nstrata-plugin\nstrata-orig\n")
                let scratch = try await fixture.build("plugin2", urls: urls)
                #expect(scratch.outputDigest == upgraded.build.outputDigest, "the upgraded layer differs from its sets built")
            }
            let report = try fixture.store.fsck()
            #expect(report.isClean, "\(report.problems)")
        }
    }

    @Test("an application template (@base hooks) builds its missing base first, then layers onto it: byte-identical to the from-scratch set; built again, it is the committed layer exported")
    func applicationTemplate() async throws {
        try await Self.withFixture { fixture in
            // strata-orig- names a package the base does not have: nothing to remove, reported.
            try fixture.write("app", "@base hooks\nstrata-plugin\nstrata-orig-\n")
            let spec = try fixture.spec("app")
            #expect(spec.base == "hooks" && spec.packages == ["strata-plugin"] && spec.dropped == ["strata-orig"])
            let tree = TemplateTree(root: fixture.tree)
            func build() async throws -> (layer: Builder.LayerResult, builtBases: [String]) {
                let output = try TemporaryDirectory.make(prefix: "strata-layer-out") + "/app.tar"
                return try await fixture.builder.buildApplication(
                    spec, tree: tree, output: output, format: .tar(.none), urls: fixture.urls
                ) { baseSpec in
                    let lock = try await DebPackager().resolve(
                        ResolveRequest(spec: baseSpec, urls: fixture.urls), fetcher: fixture.builder.fetcher
                    ).lockfile
                    return try await fixture.builder.build(
                        spec: baseSpec, lock: lock, output: "", format: .storeOnly, urls: fixture.urls
                    ).commit
                }
            }
            #expect(try fixture.store.ref("debian/12/hooks/amd64") == nil)
            let first = try await build()
            #expect(first.builtBases == ["debian/12/hooks/amd64"])
            #expect(first.layer.ref == "debian/12/app/amd64" && first.layer.layered.map(\.name) == ["strata-plugin"])
            let commit = try fixture.store.readCommit(first.layer.build.commit)
            #expect(commit.origin[Builder.LayerOrigin.application] == "app")
            #expect(commit.parents.first == (try fixture.store.ref("debian/12/hooks/amd64")))

            let again = try await build()
            #expect(again.builtBases.isEmpty && again.layer.build.reused, "an unchanged application template was layered again")
            #expect(again.layer.build.commit == first.layer.build.commit)
            #expect(again.layer.build.outputDigest == first.layer.build.outputDigest)

            let scratch = try await fixture.build("plugin")
            #expect(scratch.outputDigest == first.layer.build.outputDigest, "the application template differs from its set built")
        }
    }
}
