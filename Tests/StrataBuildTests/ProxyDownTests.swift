// Issue 8, item 12: with the proxy down, errors blamed the mirror, printed each URL twice, came
// after ~45 s of retries, and warnings were swift-log lines that ignored -q. These run the real
// `strata` where the behaviour is the command line's, against the signed fixture archive on
// 127.0.0.1 and a port nothing listens on.
import Foundation
import StrataBuild
import StrataCore
import StrataFetch
import StrataStore
import StrataTestSupport
import Synchronization
import Testing

@Suite("With the proxy down")
struct ProxyDownTests {
    @Test("strata lock through a proxy that is not running names the proxy, says refused, fails at once, each URL once")
    func lockNamesTheProxy() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\n"])
            let dir = try TemporaryDirectory.make(prefix: "strata-proxydown")
            let port = try StrataExecutable.closedPort()
            let start = ContinuousClock.now
            let result = try await StrataExecutable.run(
                [
                    "lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "\(dir)/store",
                    "--proxy", "http://127.0.0.1:\(port)", "-o", "\(dir)/s.lock.json",
                ], timeout: .seconds(60))
            let elapsed = ContinuousClock.now - start
            let stderr = result.errorOutput
            #expect(result.exitCode == 1, "\(stderr)")
            #expect(elapsed < .seconds(10), "a refused connection must not be retried for \(elapsed)")
            #expect(
                stderr.contains("proxy http://127.0.0.1:\(port) refused the connection (is it running?)"), "\(stderr)")
            #expect(!stderr.contains("errno") && !stderr.contains("connection reset"), "\(stderr)")
            let inRelease = "dists/stable/InRelease"
            #expect(stderr.components(separatedBy: inRelease).count - 1 == 1, "each URL once: \(stderr)")
            #expect(stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("strata: ") }, "\(stderr)")
            #expect(server.requests.isEmpty, "the mirror was never asked")
        }
    }

    @Test("fetching packages through a refused proxy fails at once, without retries or warnings")
    func packagesFailFast() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\n"])
            let (resolution, _) = try await FixtureTemplate.lock(tree: tree, set: "s")
            let port = try StrataExecutable.closedPort()
            let store = try BlobStore(root: TemporaryDirectory.make(prefix: "strata-store"))
            let fetcher = PackageFetcher(fetcher: try HTTPFetcher(store: store, proxy: "http://127.0.0.1:\(port)"))
            let (warnings, thrown) = await collectingWarnings { () async -> (any Error)? in
                do {
                    _ = try await fetcher.fetchAll(resolution.lockfile)
                    return nil
                } catch {
                    return error
                }
            }
            let error = try #require(thrown as? StrataError)
            #expect(error.code == .unreachable)
            #expect(error.message.contains("proxy http://127.0.0.1:\(port) refused the connection"), "\(error)")
            #expect(
                warnings.filter { $0.contains("127.0.0.1:\(port)") || $0.contains(server.baseURL) }.isEmpty,
                "\(warnings)")
        }
    }

    @Test("a transfer cut off mid-body is transient: tried again with a warning in strata's voice, naming the URL once")
    func cutTransferIsRetried() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\n"])
            let (resolution, _) = try await FixtureTemplate.lock(tree: tree, set: "s")
            let package = try #require(resolution.lockfile.packages.first { $0.name == "app" })
            server.setFault(.truncate(after: 10), for: "/\(package.path)")
            let store = try BlobStore(root: TemporaryDirectory.make(prefix: "strata-store"))
            let fetcher = PackageFetcher(fetcher: try HTTPFetcher(store: store))
            let (warnings, thrown) = await collectingWarnings { () async -> (any Error)? in
                do {
                    _ = try await fetcher.fetchAll(resolution.lockfile)
                    return nil
                } catch {
                    return error
                }
            }
            let error = try #require(thrown as? StrataError)
            #expect(error.code == .network, "\(error)")
            let mine = warnings.filter { $0.contains(package.path) }
            #expect(mine.count == 2, "two more attempts: \(warnings)")
            for line in mine {
                #expect(line.hasPrefix("strata: warning: ") && line.contains("trying again"), "\(line)")
                #expect(line.components(separatedBy: package.path).count - 1 == 1, "the URL once: \(line)")
            }
            #expect(server.requests.filter { $0.path == "/\(package.path)" }.count == 3)
        }
    }

    @Test("the trusted-repository warning is strata's own line on stderr, and -q silences it")
    func warningsObeyQuiet() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: nil, trusted: true, sets: ["s": "app\n"])
            let dir = try TemporaryDirectory.make(prefix: "strata-trusted")
            let arguments = [
                "lock", "fixture/1", "--set", "s", "--templates", tree, "--store", "\(dir)/store", "-o",
                "\(dir)/s.lock.json",
            ]
            let loud = try await StrataExecutable.run(arguments)
            #expect(loud.exitCode == 0, "\(loud.errorOutput)")
            let lines = loud.errorOutput.split(separator: "\n")
            #expect(
                lines.contains {
                    $0.hasPrefix("strata: warning: repository 'main' is marked trusted: ")
                        && $0.hasSuffix("is NOT verified")
                }, "\(lines)")
            #expect(lines.allSatisfy { $0.hasPrefix("strata: warning: ") }, "no swift-log lines: \(lines)")
            let quiet = try await StrataExecutable.run(arguments + ["-q"])
            #expect(quiet.exitCode == 0, "\(quiet.errorOutput)")
            #expect(quiet.errorOutput.isEmpty, "\(quiet.errorOutput)")
        }
    }
}

/// Runs `body` with the ``Diagnostics`` lines it (and its child tasks) emit collected rather
/// than printed.
func collectingWarnings<T: Sendable>(_ body: () async -> T) async -> ([String], T) {
    let lines = Mutex<[String]>([])
    let result = await Diagnostics.$collector.withValue(Diagnostics.Collector { line in lines.withLock { $0.append(line) } }) {
        await body()
    }
    return (lines.withLock { $0 }, result)
}
