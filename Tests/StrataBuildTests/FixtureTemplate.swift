import Foundation
import StrataBuild
import StrataCore
import StrataPackaging
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport

/// A template tree for the fixture archive served at `baseURL`, with the sets given.
enum FixtureTemplate {
    static func make(baseURL: String, keyring: String?, trusted: Bool = false, sets: [String: String]) throws -> String {
        let root = try TemporaryDirectory.make(prefix: "strata-tree")
        let config = "\(root)/fixture/1/config"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        let keyLine = keyring.map { "keyring: \($0)\n" } ?? ""
        let trust = trusted ? "\n    trusted: true" : ""
        let yaml = """
            family: deb
            distro: fixture
            version: "1"
            suite: stable
            \(keyLine)repositories:
              - name: main
                url: \(baseURL)
                suite: stable
                components: [main, contrib]\(trust)
              - name: updates
                url: \(baseURL)
                suite: stable-updates
                components: [main]\(trust)

            """
        try yaml.write(toFile: "\(config)/template.yaml", atomically: true, encoding: .utf8)
        for (name, text) in sets { try text.write(toFile: "\(config)/\(name).list", atomically: true, encoding: .utf8) }
        return root
    }

    /// Loads `set` and resolves it with a fresh store (or `store`).
    static func lock(
        tree: String, set: String, store: String? = nil, why: String? = nil, resolveAgain: Bool = false
    ) async throws -> (Planner.Resolution, BlobStore) {
        let spec = try TemplateTree(root: tree).load(target: "fixture/1", set: set, architecture: Architecture("amd64"))
        let blobs = try BlobStore(root: store ?? TemporaryDirectory.make(prefix: "strata-store"))
        let planner = Planner(fetcher: try HTTPFetcher(store: blobs), mirrors: MirrorMap(roles: [:]), packagers: .testing)
        return (try await planner.resolve(spec, why: why, resolveAgain: resolveAgain), blobs)
    }
}

extension BlobStore {
    /// Files left under tmp/ (a crashed or failed write would leave them).
    var temporaryFiles: [String] { (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/tmp")) ?? [] }
}
