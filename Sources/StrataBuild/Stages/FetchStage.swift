// Fetch: every package a lockfile names, into the blob store, verified against the lockfile's
// SHA-256 and size before it is visible there. Already-stored blobs cost nothing; the rest are
// downloaded with a bounded number in flight, from the lockfile's repository URL (or, when the
// template's mirror was overridden, from the mirror the planner resolved for that repository).
import StrataCore
import StrataPackaging
import StrataStore

public struct PackageFetcher: Sendable {
    public let fetcher: any Fetcher
    /// Downloads in flight at once.
    public let window: Int

    public init(fetcher: any Fetcher, window: Int = 8) {
        self.fetcher = fetcher
        self.window = window
    }

    /// One package, tried again twice after a transient network error (a connection reset
    /// mid-transfer, a timeout); a verification failure or an unreachable server (a refused
    /// connection, an unknown host: ``StrataError/Code/unreachable``) is final at once.
    private func fetchRetrying(_ url: String, _ package: Lockfile.Package) async throws -> SHA256Digest {
        var attempt = 0
        while true {
            do {
                return try await fetcher.fetch(url, expected: package.sha256, size: package.size)
            } catch let error as StrataError where error.code == .network && attempt < 2 {
                attempt += 1
                Diagnostics.warning("\(error.message); trying again (attempt \(attempt + 1) of 3)")
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    /// Fetches every package of `lock`.
    /// - Parameters:
    ///   - urls: repository name → base URL to fetch from; defaults to the lockfile's URLs.
    ///   - arrived: called as each package is in the blob store, with its index in the lockfile
    ///     and its blob (the build imports it at once).
    ///   - progress: called after each package with (done, total, bytes fetched so far).
    /// - Returns: the blob digests, in the lockfile's package order.
    /// - Throws: ``StrataError`` naming the package and its URL on the first failure.
    public func fetchAll(
        _ lock: Lockfile, urls: [String: String] = [:],
        arrived: @escaping @Sendable (Int, SHA256Digest) -> Void = { _, _ in },
        progress: @escaping @Sendable (Int, Int, UInt64) -> Void = { _, _, _ in }
    ) async throws -> [SHA256Digest] {
        let base = Dictionary(lock.repositories.map { ($0.name, urls[$0.name] ?? $0.url) }, uniquingKeysWith: { a, _ in a })
        let packages = lock.packages
        let counter = LockedBox((done: 0, bytes: UInt64(0)))
        return try await withThrowingTaskGroup(of: (Int, SHA256Digest).self) { group in
            var results = [SHA256Digest?](repeating: nil, count: packages.count)
            var next = 0
            func addTask() {
                let index = next
                let package = packages[index]
                next += 1
                group.addTask {
                    guard let root = base[package.repository] else {
                        throw StrataError(.invalidInput, "\(package.name): the lockfile names no repository '\(package.repository)'")
                    }
                    let url = "\(root)/\(package.path)"
                    do {
                        let digest = try await fetchRetrying(url, package)
                        arrived(index, digest)
                        let state = counter.update { state -> (Int, UInt64) in
                            state.done += 1
                            state.bytes += package.size
                            return (state.done, state.bytes)
                        }
                        progress(state.0, packages.count, state.1)
                        return (index, digest)
                    } catch let error as StrataError {
                        throw StrataError(error.code, "\(package.name) \(package.version): \(error.message)")
                    }
                }
            }
            while next < min(window, packages.count) { addTask() }
            for try await (index, digest) in group {
                results[index] = digest
                if next < packages.count { addTask() }
            }
            return results.compactMap { $0 }
        }
    }
}
