// An unchanged rebuild is a lookup, and `strata export` writes what the build wrote: on the
// fixture RPM distribution (no mirror needed), a second build of one lockfile and template runs
// no stage but the export (shown from the outside: the repository server is gone and the
// package files are deleted from the store, so a fetch, an import or a scriptlet could not
// happen), gives the same bytes, and the export of the commit equals a real build in every format.
import Foundation
import StrataBuild
import StrataCore
import StrataFetch
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Unchanged rebuilds and strata export", .serialized)
struct UnchangedRebuildTests {
    static func spec(_ templates: String) throws -> TemplateSpec {
        try TemplateTree(root: templates).load(target: "fixture-el/1", set: "minimal", architecture: Architecture("amd64"))
    }

    static func lock(_ templates: String, mirror: String, store: Store) async throws -> Lockfile {
        let mirrors = try MirrorMap.host(packagers: .testing, overrides: ["fixture-el=\(mirror)"])
        return try await Planner(fetcher: try HTTPFetcher(store: store.blobs), mirrors: mirrors, packagers: .testing)
            .resolve(try spec(templates)).lockfile
    }

    static func build(
        _ templates: String, lock: Lockfile, store: Store, output: String, format: Builder.OutputFormat = .tar(.none)
    ) async throws -> Builder.Result {
        try await Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs), packagers: .testing).build(
            spec: try spec(templates), lock: lock, output: output, format: format)
    }

    static let formats: [(String, Builder.OutputFormat)] = [
        ("t.tar", .tar(.none)), ("t.tar.gz", .tar(.gzip)), ("t.tar.zst", .tar(.zstd)), ("t.tar.xz", .tar(.xz)),
        ("dir/", .directory),
    ]

    @Test("a rebuild of one lockfile and template exports the commit (nothing fetched or run); export equals a build in every format; a changed template rebuilds")
    func unchangedIsALookup() async throws {
        let repo = try await RpmFixtureRepo.distribution().repository
        let work = try TemporaryDirectory.make(prefix: "strata-unchanged")
        let templates = try RpmBuildTests.tree(
            keyring: repo.key?.keyringPath, list: RpmDistributionFixture.minimalRequest.joined(separator: "\n") + "\n")
        let store = try Store(root: "\(work)/store")
        var lock: Lockfile?
        var first: Builder.Result?
        try await LoopbackHTTPServer.withServer(serving: try RpmBuildTests.mirror(repo)) { server in
            let locked = try await Self.lock(templates, mirror: server.baseURL, store: store)
            lock = locked
            first = try await Self.build(templates, lock: locked, store: store, output: "\(work)/first.tar")
            #expect(first?.reused == false)

            // Every format: a real build on a fresh store equals the export of the first commit.
            let commit = try store.readCommit(try #require(first?.commit))
            for (name, format) in Self.formats {
                let fresh = try Store(root: "\(work)/store-\(name.filter(\.isLetter))")
                let built = try await Self.build(templates, lock: locked, store: fresh, output: "\(work)/built-\(name)", format: format)
                #expect(built.reused == false)
                let exported = "\(work)/export-\(name)"
                _ = try await Offload.run { try Builder.export(commit, from: store, to: exported, format: format) { _ in } }
                if format == .directory {
                    let a = try await Offload.run { try TreeListing.read(root: "\(work)/built-dir") }
                    let b = try await Offload.run { try TreeListing.read(root: "\(work)/export-dir") }
                    #expect(a.diff(against: b, compareModificationTimes: true).isEmpty, "\(a.diff(against: b, compareModificationTimes: true))")
                } else {
                    #expect(
                        try SHA256Digest.of(file: "\(work)/built-\(name)") == SHA256Digest.of(file: "\(work)/export-\(name)"),
                        "\(name)")
                    // Read from the objects or from a checkout of the tree: the same bytes.
                    let checkedOut = "\(work)/checkout-\(name)"
                    _ = try await Offload.run {
                        try Builder.export(commit, from: store, to: checkedOut, format: format, readingObjects: false) { _ in }
                    }
                    #expect(try SHA256Digest.of(file: checkedOut) == SHA256Digest.of(file: exported), "\(name)")
                }
            }

            // One line of the template changed: a real build again, which then is the one reused.
            let config = "\(templates)/fixture-el/1/config/template.yaml"
            try (try String(contentsOfFile: config, encoding: .utf8) + "excludes:\n  - /usr/share/doc/*\n")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let changedLock = try await Self.lock(templates, mirror: server.baseURL, store: store)
            let changed = try await Self.build(templates, lock: changedLock, store: store, output: "\(work)/changed.tar")
            #expect(changed.reused == false)
            #expect(changed.commit != first?.commit)
            #expect(changed.outputDigest != first?.outputDigest)
        }
        // Back to the first template and lock: the ref has moved on, so this builds once more…
        let config = "\(templates)/fixture-el/1/config/template.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "excludes:\n  - /usr/share/doc/*\n", with: "")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let locked = try #require(lock)
        // …but not without its server and packages: restore the ref to the first commit instead,
        // then take away everything a real build would need.
        try store.setRef("fixture-el/1/minimal/amd64", to: try #require(first?.commit))
        for package in locked.packages { unlink(store.blobs.path(of: package.sha256)) }
        let again = try await Self.build(templates, lock: locked, store: store, output: "\(work)/again.tar")
        #expect(again.reused)
        #expect(again.outputDigest == first?.outputDigest)
        #expect(again.commit == first?.commit)
        // Forced, it must really build, and cannot: the packages are gone and nothing serves them.
        let forced = await #expect(throws: StrataError.self) {
            _ = try await Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs), packagers: .testing).build(
                spec: try Self.spec(templates), lock: locked, output: "\(work)/forced.tar", format: .tar(.none),
                rebuild: true)
        }
        #expect(forced != nil)
    }
}
