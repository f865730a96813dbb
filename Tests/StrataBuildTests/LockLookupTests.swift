import Foundation
import StrataBuild
import StrataCore
import StrataDeb
import StrataFetch
import StrataStore
import StrataTestSupport
import Testing

/// A lock whose inputs the store has seen is a lookup, and a signature verified once is not
/// verified again; neither may let through what a fresh resolution would refuse.
@Suite("Lock lookups and cached verifications")
struct LockLookupTests {
    /// `dists/stable/Release` with `extra` lines added, clearsigned with the archive's key.
    static func resignedInRelease(_ repo: DebFixtureRepo, adding extra: String) async throws -> [UInt8] {
        let work = try TemporaryDirectory.make(prefix: "inrelease")
        let release = try String(contentsOfFile: "\(repo.root)/dists/stable/Release", encoding: .utf8)
        try (release.hasSuffix("\n") ? release : release + "\n").appending(extra)
            .write(toFile: "\(work)/Release", atomically: true, encoding: .utf8)
        let key = try #require(repo.key)
        try await key.clearsign("\(work)/Release", to: "\(work)/InRelease")
        return try FileReader.readAll("\(work)/InRelease")
    }

    static func solverCaches(_ store: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(store)/cache/solv")) ?? []
    }

    @Test(
        "an unchanged lock is a lookup (no index parsed, the same bytes); a changed template line, a new InRelease, --resolve or --why solve again"
    )
    func lookup() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let keyring = repo.key?.keyringPath
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: keyring, sets: ["s": "app\n"])
            let store = try TemporaryDirectory.make(prefix: "strata-store")
            let (first, _) = try await FixtureTemplate.lock(tree: tree, set: "s", store: store)
            #expect(!first.reused)
            #expect(!Self.solverCaches(store).isEmpty)

            // Without the solver caches, a resolution would have to parse every Packages file
            // again and write them back: a lookup writes none.
            try FileManager.default.removeItem(atPath: "\(store)/cache/solv")
            let (second, _) = try await FixtureTemplate.lock(tree: tree, set: "s", store: store)
            #expect(second.reused)
            #expect(try second.lockfile.encoded() == first.lockfile.encoded())
            #expect(Self.solverCaches(store).isEmpty)

            let (asked, _) = try await FixtureTemplate.lock(tree: tree, set: "s", store: store, why: "app")
            #expect(!asked.reused && asked.why != nil)
            let (again, _) = try await FixtureTemplate.lock(tree: tree, set: "s", store: store, resolveAgain: true)
            #expect(!again.reused)
            #expect(try again.lockfile.encoded() == first.lockfile.encoded())

            // One more line in the set: another configuration, another lock.
            let changed = try FixtureTemplate.make(baseURL: server.baseURL, keyring: keyring, sets: ["s": "app\nmonitor\n"])
            let (other, _) = try await FixtureTemplate.lock(tree: changed, set: "s", store: store)
            #expect(!other.reused)
            #expect(other.lockfile.packages.contains { $0.name == "monitor" })

            // The mirror publishes a new InRelease (same packages, one more line): solved again.
            let newer = try await Self.resignedInRelease(repo, adding: "X-Strata-Test: newer\n")
            server.setFault(HTTPFault(replacementBody: newer), for: "/dists/stable/InRelease")
            let (moved, _) = try await FixtureTemplate.lock(tree: tree, set: "s", store: store)
            #expect(!moved.reused)
            #expect(moved.lockfile.packages == first.lockfile.packages)
            #expect(moved.lockfile.repositories.first?.release != first.lockfile.repositories.first?.release)
        }
    }

    @Test(
        "a verified InRelease is not verified again; another keyring verifies again and fails; Valid-Until is checked every time"
    )
    func cachedVerification() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'UTC'"
            let validUntil = Date().addingTimeInterval(86_400)
            let inRelease = try await Self.resignedInRelease(
                repo, adding: "Valid-Until: \(formatter.string(from: validUntil))\n")
            server.setFault(HTTPFault(replacementBody: inRelease), for: "/dists/stable/InRelease")

            let blobs = try BlobStore(root: TemporaryDirectory.make(prefix: "strata-store"))
            let fetcher = try HTTPFetcher(store: blobs)
            let source = DebRepositorySource(
                name: "main", url: server.baseURL, suite: "stable", components: ["main"],
                keyring: repo.key?.keyringPath, trusted: false)
            let indexes = try await DebRepositoryClient(fetcher: fetcher, architecture: Architecture("amd64"))
                .fetchIndexes(source)
            let verified = "\(blobs.root)/cache/verified"
            let entries = try FileManager.default.contentsOfDirectory(atPath: verified)
            #expect(entries.count == 1)
            let entry = "\(verified)/\(try #require(entries.first))"
            #expect(entry.contains(indexes.releaseDigest.hex))

            // The next check reads the text it verified before, not the file: change the kept text
            // and the change shows (what a second gpgv run would never let through).
            let kept = try String(contentsOfFile: entry, encoding: .utf8)
            try kept.replacingOccurrences(of: "Suite: stable", with: "Suite: kept-text")
                .write(toFile: entry, atomically: true, encoding: .utf8)
            let fromCache = await #expect(throws: StrataError.self) {
                try await DebRepositoryClient(fetcher: fetcher, architecture: Architecture("amd64")).fetchIndexes(source)
            }
            #expect(fromCache?.message.contains("kept-text") == true, "\(fromCache?.description ?? "no error")")
            try kept.write(toFile: entry, atomically: true, encoding: .utf8)

            // The same InRelease with a keyring that does not hold its key: gpgv runs, and refuses.
            var unrelated = source
            unrelated.keyring = try await TestGPGKey.unrelated().keyringPath
            let refused = await #expect(throws: StrataError.self) {
                try await DebRepositoryClient(fetcher: fetcher, architecture: Architecture("amd64"))
                    .fetchIndexes(unrelated)
            }
            #expect(refused?.code == .verificationFailed)
            #expect(refused?.message.contains("signature not valid") == true, "\(refused?.description ?? "no error")")

            // Two days on, the verified InRelease has expired: refused although verified before.
            let later = DebRepositoryClient(
                fetcher: fetcher, architecture: Architecture("amd64"), now: { Date().addingTimeInterval(2 * 86_400) })
            let expired = await #expect(throws: StrataError.self) { try await later.fetchIndexes(source) }
            #expect(expired?.code == .verificationFailed)
            #expect(expired?.message.contains("Valid-Until") == true, "\(expired?.description ?? "no error")")
        }
    }
}
