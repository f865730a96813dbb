// Shared pieces of the rpm-md tests: a private blob store and fetcher per test, the standard
// fixture repository served on loopback, and a catcher for StrataError.
import Foundation
import StrataCore
import StrataFetch
import StrataRPM
import StrataStore
import StrataTestSupport

/// One test's store, fetcher and client.
struct RpmTestEnvironment {
    let store: BlobStore
    let fetcher: HTTPFetcher
    let client: RpmRepositoryClient

    init() throws {
        store = try BlobStore(root: TemporaryDirectory.make(prefix: "rpmstore"))
        fetcher = try HTTPFetcher(store: store, timeout: .seconds(20))
        client = RpmRepositoryClient(fetcher: fetcher)
    }

    /// Files under the store's `tmp/` (should be none after any fetch, good or bad).
    var temporaryFiles: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(store.root)/tmp")) ?? []
    }
}

extension RpmFixtureRepo {
    /// `repodata/<hash>-primary.xml.gz` (or `.zst`), found by listing the directory.
    func primaryLocation() throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(root)/repodata")
        guard let name = names.first(where: { $0.contains("-primary.xml") }) else {
            throw StrataError(.notFound, "\(root)/repodata has no primary")
        }
        return "repodata/\(name)"
    }

    /// A source for this repository served by `server`, verified with the repository's key.
    func source(_ server: LoopbackHTTPServer, keyring: String? = nil, trusted: Bool = false) -> RpmRepositorySource {
        RpmRepositorySource(
            name: "fixture", baseURL: server.baseURL, keyring: keyring ?? key?.keyringPath, trusted: trusted)
    }
}

/// The StrataError `body` throws, or `nil` when it throws nothing (or something else).
func strataError(_ body: () async throws -> Void) async -> StrataError? {
    do {
        try await body()
        return nil
    } catch let error as StrataError {
        return error
    } catch {
        return StrataError(.internalError, "not a StrataError: \(error)")
    }
}
