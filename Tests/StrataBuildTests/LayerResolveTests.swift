// Resolving a layer onto an installed base, against the signed fixture archive on loopback:
// the set is what `apt-get install` would add on a system with that dpkg status; requests the
// base satisfies are inactive; a base that cannot stay as it is, and removals something still
// needs, are refused with the packages named.
import Foundation
import StrataBuild
import StrataCore
import StrataDeb
import StrataFetch
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("Resolving a layer onto an installed Debian base")
struct LayerResolveTests {
    /// A dpkg status stanza of an installed package.
    static func installed(
        _ name: String, _ version: String, architecture: String = "amd64", depends: String? = nil,
        preDepends: String? = nil, provides: String? = nil, essential: Bool = false, multiArch: String? = nil
    ) -> String {
        var lines = ["Package: \(name)", "Status: install ok installed"]
        if essential { lines.append("Essential: yes") }
        lines += ["Priority: optional", "Section: misc", "Maintainer: strata tests <tests@strata.invalid>", "Architecture: \(architecture)"]
        if let multiArch { lines.append("Multi-Arch: \(multiArch)") }
        lines.append("Version: \(version)")
        if let provides { lines.append("Provides: \(provides)") }
        if let preDepends { lines.append("Pre-Depends: \(preDepends)") }
        if let depends { lines.append("Depends: \(depends)") }
        lines.append("Description: installed fixture \(name)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The standard fixture's essential set, with the older libc-mini of `stable` (the archive
    /// also has a newer one in stable-updates).
    static let standardBase = [
        installed("base-files", "13.1", essential: true),
        installed("libc-mini", "2.36-9", multiArch: "same"),
        installed("shell-mini", "5.2.15-2", preDepends: "libc-mini (>= 2.36)", essential: true),
        installed("coreutils-mini", "9.1-1", depends: "libc-mini (>= 2.36)", essential: true),
    ].joined(separator: "\n")

    static func resolve(
        tree: String, status: String, add: [String], remove: [String] = [], urls: [String: String]
    ) async throws -> LayerResolution {
        let spec = try TemplateTree(root: tree).load(target: "fixture/1", set: "base", architecture: Architecture("amd64"))
        let blobs = try BlobStore(root: TemporaryDirectory.make(prefix: "strata-store"))
        let bytes = Array(status.utf8)
        return try await DebPackager().resolveLayer(
            LayerRequest(
                resolve: ResolveRequest(spec: spec, urls: urls), add: add, remove: remove,
                readBase: { $0 == "var/lib/dpkg/status" ? bytes : nil }),
            fetcher: try HTTPFetcher(store: blobs))
    }

    @Test(
        "the layered set is what apt-get install adds on a system with the base installed; the base's libc-mini stays",
        arguments: [["app"], ["monitor"], ["script-tool", "mail-user"]])
    func sameAsAptOnTheBase(request: [String]) async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["base": "base-files\n"])
            let urls = ["main": server.baseURL, "updates": server.baseURL]
            let layer = try await Self.resolve(tree: tree, status: Self.standardBase, add: request, urls: urls)
            let ours = Dictionary(uniqueKeysWithValues: layer.lockfile.packages.map { ($0.name, $0.version) })
            #expect(ours["libc-mini"] == nil, "the base's libc-mini was replaced: \(ours)")
            #expect(layer.inactive.isEmpty && layer.removed.isEmpty)

            let apt = try AptOracle(sources: repo.sourcesLines(baseURL: server.baseURL))
            try apt.setInstalled(status: Self.standardBase)
            try await apt.update()
            // apt may also upgrade a base package on the way (for monitor it takes stable-updates'
            // libc-mini along); a layer never changes its base, so those are left out here.
            let baseNames: Set<String> = ["base-files", "libc-mini", "shell-mini", "coreutils-mini"]
            let theirs = try await apt.resolve(request).filter { !baseNames.contains($0.key) }
            #expect(ours == theirs, "strata \(ours), apt \(theirs)")
        }
    }

    @Test("a request the base satisfies, by name or by what it provides, is inactive and not layered")
    func inactiveRequests() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["base": "base-files\n"])
            let urls = ["main": server.baseURL, "updates": server.baseURL]
            let base = Self.standardBase + "\n" + Self.installed("editor-nano", "7.2-1", depends: "libc-mini", provides: "editor")
            let layer = try await Self.resolve(tree: tree, status: base, add: ["coreutils-mini", "editor", "tzdata-mini"], urls: urls)
            #expect(layer.inactive == ["coreutils-mini": "coreutils-mini 9.1-1", "editor": "editor-nano 7.2-1 (provides editor)"])
            #expect(layer.lockfile.packages.map(\.name) == ["tzdata-mini"])
            // Everything inactive: nothing to layer, and that is no error.
            let none = try await Self.resolve(tree: tree, status: base, add: ["coreutils-mini"], urls: urls)
            #expect(none.lockfile.packages.isEmpty && none.inactive.count == 1)
        }
    }

    /// An archive where an application needs a newer library than a base has.
    static func skewRepo() async throws -> DebFixtureRepo {
        let key = try await TestGPGKey.archive()
        return try await DebFixtureRepo.build(
            packages: [
                DebPackageSpec(name: "libskew1", version: "2.0-1", suites: ["stable", "stable-updates"]),
                DebPackageSpec(name: "skew-app", version: "2.0-1", depends: "libskew1 (= 2.0-1)", suites: ["stable"]),
                DebPackageSpec(name: "skew-tool", version: "1.0-1", depends: "libskew1", suites: ["stable"]),
                DebPackageSpec(name: "skew-base", version: "1.0-1", essential: true, suites: ["stable"]),
            ],
            suites: [
                DebSuite(name: "stable", codename: "strata", components: ["main", "contrib"]),
                DebSuite(name: "stable-updates", codename: "strata-updates"),
            ],
            key: key)
    }

    static let skewBase = [
        installed("skew-base", "1.0-1", essential: true),
        installed("libskew1", "1.0-1"),
        installed("skew-tool", "1.0-1", depends: "libskew1"),
    ].joined(separator: "\n")

    @Test("an addition that needs another version of a base package fails naming the pair and what would resolve it")
    func skewNamesThePair() async throws {
        let repo = try await Self.skewRepo()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["base": "skew-base\n"])
            let urls = ["main": server.baseURL, "updates": server.baseURL]
            let error = await #expect(throws: StrataError.self) {
                _ = try await Self.resolve(tree: tree, status: Self.skewBase, add: ["skew-app"], urls: urls)
            }
            #expect(error?.code == .unsatisfiable)
            let message = error?.message ?? ""
            #expect(message.contains("skew-app 2.0-1 Depends: libskew1 = 2.0-1, the base has libskew1 1.0-1"), "\(message)")
            #expect(message.contains("what would resolve it"), "\(message)")
        }
    }

    @Test("--remove of a leaf is planned; of something a base package needs, or of an Essential one, refused naming why")
    func removals() async throws {
        let repo = try await Self.skewRepo()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["base": "skew-base\n"])
            let urls = ["main": server.baseURL, "updates": server.baseURL]
            let leaf = try await Self.resolve(tree: tree, status: Self.skewBase, add: [], remove: ["skew-tool"], urls: urls)
            #expect(leaf.removed == ["skew-tool"] && leaf.lockfile.packages.isEmpty)
            let both = try await Self.resolve(tree: tree, status: Self.skewBase, add: [], remove: ["skew-tool", "libskew1"], urls: urls)
            #expect(Set(both.removed) == ["skew-tool", "libskew1"])

            let needed = await #expect(throws: StrataError.self) {
                _ = try await Self.resolve(tree: tree, status: Self.skewBase, add: [], remove: ["libskew1"], urls: urls)
            }
            #expect(needed?.message.contains("libskew1 is needed by skew-tool 1.0-1 (Depends: libskew1)") == true, "\(String(describing: needed))")
            let essential = await #expect(throws: StrataError.self) {
                _ = try await Self.resolve(tree: tree, status: Self.skewBase, add: [], remove: ["skew-base"], urls: urls)
            }
            #expect(essential?.message.contains("Essential") == true, "\(String(describing: essential))")
            let absent = await #expect(throws: StrataError.self) {
                _ = try await Self.resolve(tree: tree, status: Self.skewBase, add: [], remove: ["nothing-such"], urls: urls)
            }
            #expect(absent?.code == .notFound)
        }
    }
}
