// Against the host's real Debian mirror: strata's sets must equal mmdebstrap's. Skipped, with the
// reason printed, when the mirror cannot be reached. What is downloaded is kept outside the clone
// (STRATA_TEST_CACHE, default /var/tmp/strata-test-cache) so repeated runs fetch only InRelease
// files and changed indexes; mmdebstrap is then pointed at a copy of exactly the indexes
// strata used, so both tools see the same bytes (served over loopback) and the mirror is not loaded twice.
import Foundation
import StrataBuild
import StrataCore
import StrataPackaging
import StrataDeb
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

enum RealMirror {
    static let cache = ProcessInfo.processInfo.environment["STRATA_TEST_CACHE"] ?? "/var/tmp/strata-test-cache"

    /// Whether the host's `debian` mirror answers on its port, and why not.
    static let reachability: (ok: Bool, reason: String) = {
        guard let mirror = HostAptSources.mirrorRoles()["debian"], let url = URL(string: mirror), let host = url.host
        else { return (false, "the host's apt configuration names no Debian mirror") }
        let port = url.port ?? (url.scheme == "https" ? 443 : 80)
        let probe = try? Command.runBlocking("/usr/bin/timeout", ["8", "/bin/bash", "-c", "exec 3<>/dev/tcp/\(host)/\(port)"])
        if probe?.status == 0 { return (true, "") }
        let reason = "the host's Debian mirror cannot be reached; skipping the real-mirror tests"
        print("strata tests: \(reason)")
        return (false, reason)
    }()

    static var enabled: Bool { reachability.ok && Command.which("mmdebstrap") != nil }

    static func lock(_ target: String, set: String) async throws -> (Lockfile, BlobStore) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/templates"
        let spec = try TemplateTree(root: root).load(target: target, set: set, architecture: Architecture("amd64"))
        let store = try BlobStore(root: "\(cache)/store")
        let planner = Planner(fetcher: try HTTPFetcher(store: store), mirrors: try MirrorMap.host(packagers: .testing, overrides: []), packagers: .testing)
        return (try await planner.resolve(spec).lockfile, store)
    }

    /// A copy of exactly the indexes `lock` names, one directory per repository URL under the
    /// returned base (served over loopback HTTP: apt's file: method wants uncompressed indexes).
    static func localMirror(for lock: Lockfile, store: BlobStore) throws -> (base: String, roots: [String: String]) {
        let base = try TemporaryDirectory.make(prefix: "strata-mirror")
        var roots = [String: String]()
        for repository in lock.repositories {
            let name = roots[repository.url] ?? "\(roots.count)"
            roots[repository.url] = name
            let dir = "\(base)/\(name)"
            var files = [(repository.release.path, repository.release.sha256)]
            for index in repository.indexes {
                files.append((index.path, index.sha256))
                let folder = (index.path as NSString).deletingLastPathComponent
                files.append(("\(folder)/by-hash/SHA256/\(index.sha256.hex)", index.sha256))
            }
            for (path, digest) in files {
                let target = "\(dir)/\(path)"
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.copyItem(atPath: store.path(of: digest), toPath: target)
            }
        }
        return (base, roots)
    }

    /// `name version` lines of what mmdebstrap --simulate would install.
    static func mmdebstrap(variant: String, lock: Lockfile, baseURL: String, mirrors: [String: String]) async throws
        -> [String: String]
    {
        let suite = try #require(lock.repositories.first?.suite)
        let sources = lock.repositories.map { repository in
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \(baseURL)\(mirrors[repository.url] ?? "") \(repository.suite ?? "") main"
        }
        let out = try TemporaryDirectory.make(prefix: "strata-mm")
        let result = try await Shell.run(
            "mmdebstrap", ["--variant=\(variant)", "--simulate", "--verbose", "--architectures=amd64", suite, "\(out)/x.tar"] + sources,
            timeout: .seconds(300))
        return AptOracle.parseInstLines(result.output + "\n" + result.errorOutput)
    }
}

@Suite("Against the real Debian mirror", .enabled(if: RealMirror.enabled, "needs the host's Debian mirror and mmdebstrap"))
struct RealMirrorTests {
    @Test(
        "debian/12 locks to exactly mmdebstrap's package set",
        arguments: [("essential", "essential"), ("minbase", "minbase"), ("standard", "important")])
    func sameAsMmdebstrap(set: String, variant: String) async throws {
        let (lock, store) = try await RealMirror.lock("debian/12", set: set)
        let mirror = try RealMirror.localMirror(for: lock, store: store)
        let theirs = try await LoopbackHTTPServer.withServer(serving: mirror.base) { server in
            try await RealMirror.mmdebstrap(variant: variant, lock: lock, baseURL: server.baseURL, mirrors: mirror.roots)
        }
        let ours = Dictionary(uniqueKeysWithValues: lock.packages.map { ($0.name, $0.version) })
        #expect(!theirs.isEmpty)
        #expect(ours == theirs, "only strata: \(Set(ours.keys).subtracting(theirs.keys).sorted()); only mmdebstrap: \(Set(theirs.keys).subtracting(ours.keys).sorted())")
    }

    @Test("debian/11 and debian/13 lock", arguments: ["debian/11", "debian/13"])
    func otherVersions(target: String) async throws {
        let (lock, _) = try await RealMirror.lock(target, set: "minbase")
        let names = Set(lock.packages.map(\.name))
        #expect(names.isSuperset(of: ["apt", "base-files", "dpkg", "bash", "coreutils"]))
        #expect(lock.repositories.map(\.name) == ["main", "updates", "security"])
    }
}
