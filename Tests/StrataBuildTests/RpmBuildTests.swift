// strata build of an RPM template, end to end, against the fixture RPM distribution served on
// loopback, cross-checked with what `dnf --installroot` installs from the same repository.
import Foundation
import StrataBuild
import StrataCore
import StrataFetch
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("Building an RPM template", .serialized)
struct RpmBuildTests {
    /// A template tree for the fixture distribution at `baseURL`.
    /// The repository laid out as an EL mirror is (`1/BaseOS/x86_64/os/`), served from its root.
    static func mirror(_ repo: RpmFixtureRepo) throws -> String {
        let root = try TemporaryDirectory.make(prefix: "strata-el-mirror")
        try FileManager.default.createDirectory(atPath: "\(root)/1/BaseOS/x86_64", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(root)/1/BaseOS/x86_64/os", withDestinationPath: repo.root)
        return root
    }

    /// A template tree for the fixture distribution, reached through the mirror role `fixture-el`.
    static func tree(keyring: String?, list: String, extra: String = "") throws -> String {
        let root = try TemporaryDirectory.make(prefix: "strata-rpm-tree")
        let config = "\(root)/fixture-el/1/config"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        try """
            family: rpm
            distro: fixture-el
            version: "1"
            \(keyring.map { "keyring: \($0)\n" } ?? "")repositories:
              - name: base
                mirror: fixture-el
                path: "${version}/BaseOS/${basearch}/os"
            cleanup:
              - /var/log/dnf*.log
              - /var/cache/dnf/*
            \(extra)
            """.write(toFile: "\(config)/template.yaml", atomically: true, encoding: .utf8)
        try list.write(toFile: "\(config)/minimal.list", atomically: true, encoding: .utf8)
        return root
    }

    struct Built {
        var lock: Lockfile
        var result: Builder.Result
        var tree: String
    }

    static func build(
        _ templates: String, mirror: String, output: String, store: Store? = nil, sbom: [SBOMFormat] = []
    ) async throws -> Built {
        let spec = try TemplateTree(root: templates).load(
            target: "fixture-el/1", set: "minimal", architecture: Architecture("amd64"))
        let store = try store ?? Store(root: TemporaryDirectory.make(prefix: "strata-rpm-store"))
        let fetcher = try HTTPFetcher(store: store.blobs)
        let mirrors = try MirrorMap.host(packagers: .testing, overrides: ["fixture-el=\(mirror)"])
        let lock = try await Planner(fetcher: fetcher, mirrors: mirrors, packagers: .testing).resolve(spec).lockfile
        var builder = Builder(store: store, fetcher: fetcher, packagers: .testing)
        builder.sbomFormats = sbom
        let result = try await builder.build(
            spec: spec, lock: lock, output: output, format: .tar(.none))
        let tree = try TemporaryDirectory.make(prefix: "strata-rpm-extract")
        try await Shell.run("tar", ["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", output, "-C", tree])
        return Built(lock: lock, result: result, tree: tree)
    }

    /// What strata's tree has that dnf's does not, or has otherwise, and why that is right.
    static let allowlist = [
        "dev/*",  // strata makes the device nodes a container needs; dnf leaves /dev empty
        "etc/yum.repos.d", "etc/yum.repos.d/strata.repo",  // the repository the template was built from
        "etc/pki", "etc/pki/*",  // the key that repository is checked with, copied in
        "var/lib/rpm", "var/lib/rpm/*",  // the same headers; a database file's bytes differ by writer and time
        "var/lib/dnf", "var/lib/dnf/*", "var/cache/dnf", "var/cache/dnf/*",  // dnf's own state
    ]

    @Test("the tree equals dnf --installroot's, the set is dnf's, rpm -qa and rpm -Va inside agree, and it is reproducible")
    func buildsLikeDnf() async throws {
        let distribution = try await RpmFixtureRepo.distribution()
        let repo = distribution.repository
        try await LoopbackHTTPServer.withServer(serving: try Self.mirror(repo)) { server in
            let templates = try Self.tree(
                keyring: repo.key?.keyringPath, list: RpmDistributionFixture.minimalRequest.joined(separator: "\n") + "\n")
            let work = try TemporaryDirectory.make(prefix: "strata-rpm-out")
            let built = try await Self.build(templates, mirror: server.baseURL, output: "\(work)/a.tar")
            let base = server.baseURL.hasSuffix("/") ? String(server.baseURL.dropLast()) : server.baseURL
            #expect(built.lock.repositories.first?.url == "\(base)/1/BaseOS/x86_64/os")

            // The package set is dnf's, weak dependencies included.
            let dnf = try await DnfOracle(repositoryURL: "\(base)/1/BaseOS/x86_64/os", repositoryKey: repo.key)
                .install(RpmDistributionFixture.minimalRequest)
            let locked = built.lock.packages.map { "\($0.name)-\($0.version).\($0.architecture)" }.sorted()
            let dnfSet = dnf.packages.map { $0.replacingOccurrences(of: "-0:", with: "-") }.sorted()
            #expect(locked == dnfSet, "strata \(locked) dnf \(dnfSet)")

            // The tree is dnf's, path by path.
            let tree = built.tree
            let ours = try await Offload.run { try TreeListing.read(root: tree) }
            let differences = ours.diff(
                against: try await Offload.run { try dnf.listing() }, allowlist: Self.allowlist + dnf.leftovers + DnfOracle.leftoverPatterns)
            #expect(differences.isEmpty, "\(differences.map(\.description).joined(separator: "\n"))")

            // Inside, rpm lists the locked set and verifies as it does on dnf's tree.
            let qa = try await BuildFixture.inChroot(built.tree, "/usr/bin/rpm -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n' | sort")
            #expect(qa.status == 0, "\(qa.stdoutText)")
            #expect(qa.stdoutText.split(separator: "\n").map(String.init) == locked)
            let ourVerify = try await BuildFixture.inChroot(built.tree, "/usr/bin/rpm -Va 2>&1; echo rpm -Va exit $?").stdoutText
            let dnfVerify = try await BuildFixture.inChroot(dnf.root, "/usr/bin/rpm -Va 2>&1; echo rpm -Va exit $?").stdoutText
            #expect(ourVerify == dnfVerify, "strata:\n\(ourVerify)\ndnf:\n\(dnfVerify)")
            #expect(ourVerify.contains("rpm -Va exit"))

            // Two builds of one lock on two stores are the same bytes.
            let again = try await Self.build(templates, mirror: server.baseURL, output: "\(work)/b.tar")
            #expect(again.lock == built.lock)
            #expect(again.result.outputDigest == built.result.outputDigest)
        }
    }

    @Test("what the host cannot do is refused by name: a bdb rpmdb with no rpm in the tree, a Lua scriptlet with none")
    func refusals() async throws {
        let distribution = try await RpmFixtureRepo.distribution()
        let repo = distribution.repository
        try await LoopbackHTTPServer.withServer(serving: try Self.mirror(repo)) { server in
            let work = try TemporaryDirectory.make(prefix: "strata-rpm-out")
            let bdb = try Self.tree(
                keyring: repo.key?.keyringPath, list: "filesystem\nbusybox\n", extra: "rpmdb-backend: bdb\n")
            let refused = await #expect(throws: StrataError.self) {
                _ = try await Self.build(bdb, mirror: server.baseURL, output: "\(work)/bdb.tar")
            }
            #expect(refused?.message.contains("rpmdb-backend is bdb") == true, "\(String(describing: refused))")
            #expect(refused?.message.contains("ships no rpm of its own") == true)

            let lua = try Self.tree(keyring: repo.key?.keyringPath, list: "filesystem\nbusybox\nfixture-lib\n")
            let noLua = await #expect(throws: StrataError.self) {
                _ = try await Self.build(lua, mirror: server.baseURL, output: "\(work)/lua.tar")
            }
            #expect(noLua?.message.contains("fixture-lib-2.1-1.el9.x86_64: its %post scriptlet is Lua") == true,
                "\(String(describing: noLua))")
            #expect(!FileManager.default.fileExists(atPath: "\(work)/lua.tar"))
        }
    }
}
