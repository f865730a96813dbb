// Building real templates: the real Debian 12 minbase from the host's mirror (cached outside the
// clone), plus fixture packages from a signed loopback archive whose maintainer scripts write a
// file, keep a conffile, register a file trigger and an alternative. Needs root (overlayfs,
// chroot, device nodes) and the mirror; skipped with the reason printed otherwise.
import Foundation
import StrataArchive
@testable import StrataBuild
import StrataCore
import StrataDeb
import StrataRPM
import StrataPackaging
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

enum BuildFixture {
    static let isRoot = geteuid() == 0
    static var enabled: Bool { isRoot && RealMirror.enabled }

    /// Extra packages exercising what dpkg leaves behind.
    static let extras: [DebPackageSpec] = [
        // A conffile and a postinst that writes a file and registers an alternative.
        DebPackageSpec(
            name: "strata-demo", version: "1.0-1", architecture: "all", depends: "strata-hooks",
            files: [
                "/etc/strata-demo.conf": "setting = 1\n", "/usr/bin/strata-demo-impl": "#!/bin/sh\necho demo\n",
                "/usr/share/doc/strata-demo/README": "excluded by the template\n",
            ],
            conffiles: ["/etc/strata-demo.conf"],
            maintainerScripts: [
                "postinst": """
                    #!/bin/sh
                    set -e
                    if [ "$1" = configure ]; then
                        echo "configured by postinst" > /var/lib/strata-demo.state
                        update-alternatives --install /usr/bin/strata-demo strata-demo /usr/bin/strata-demo-impl 50
                    fi
                    """
            ]),
        // Registers interest in a directory; its postinst, run as a trigger, lists what is there.
        DebPackageSpec(
            name: "strata-hooks", version: "1.0-1", architecture: "all",
            files: ["/usr/share/strata-hooks/README": "hooks\n"],
            maintainerScripts: [
                "triggers": "interest-noawait /usr/share/strata-hooks/plugins\n",
                "postinst": """
                    #!/bin/sh
                    set -e
                    if [ "$1" = triggered ]; then
                        ls /usr/share/strata-hooks/plugins > /var/lib/strata-hooks.seen 2>/dev/null || true
                    fi
                    """,
            ]),
        // A file that another package diverts away in its preinst.
        DebPackageSpec(
            name: "strata-orig", version: "1.0-1", architecture: "all",
            files: ["/usr/bin/strata-tool": "#!/bin/sh\necho original\n"]),
        // Diverts strata-orig's /usr/bin/strata-tool with --rename, then ships its own.
        DebPackageSpec(
            name: "strata-diverter", version: "1.0-1", architecture: "all", preDepends: "strata-orig",
            files: ["/usr/bin/strata-tool": "#!/bin/sh\necho diverted\n"],
            maintainerScripts: [
                "preinst": """
                    #!/bin/sh
                    set -e
                    if [ "$1" = install ]; then
                        dpkg-divert --package strata-diverter --add --rename --divert /usr/bin/strata-tool.distrib /usr/bin/strata-tool
                    fi
                    """
            ]),
        // Ships its own /usr/sbin/policy-rc.d, which the build's temporary one must not replace.
        DebPackageSpec(
            name: "strata-policy", version: "1.0-1", architecture: "all",
            files: ["/usr/sbin/policy-rc.d": "#!/bin/sh\n# the package's own policy\nexit 0\n"]),
        // Depends on something no repository has: the template's dummy satisfies it.
        DebPackageSpec(name: "strata-wants-kernel", version: "1.0-1", architecture: "all", depends: "fake-kernel (>= 1.0)"),
        // Ships a file into the watched directory: its unpack must fire the trigger.
        DebPackageSpec(
            name: "strata-plugin", version: "1.0-1", architecture: "all", depends: "strata-hooks",
            files: ["/usr/share/strata-hooks/plugins/one": "plugin\n"]),
    ]

    /// Serves `packages` as the signed fixture archive (suite stable, codename strata) on
    /// loopback and runs `body` with a template tree naming it as repository `extra` (the set
    /// `test` is `list`) and the server.
    static func withArchive<T: Sendable>(
        _ packages: [DebPackageSpec] = extras, list: String, _ body: (_ tree: String, _ server: LoopbackHTTPServer) async throws -> T
    ) async throws -> T {
        let key = try await TestGPGKey.archive()
        let repo = try await DebFixtureRepo.build(
            packages: packages, suites: [DebSuite(name: "stable", codename: "strata")], key: key)
        return try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            try await body(try tree(extraURL: server.baseURL, extraKeyring: key.keyringPath, list: list), server)
        }
    }

    /// The differences between a tree and a built tar's, for a test's message when two builds
    /// that should be byte-identical are not.
    static func recordDifferences(_ root: String, from tar: String) async throws {
        let other = try await extract(tar)
        let a = try await Offload.run { try TreeListing.read(root: root) }
        let b = try await Offload.run { try TreeListing.read(root: other) }
        Issue.record("differences: \(a.diff(against: b, compareModificationTimes: true).prefix(20))")
    }

    static func tree(extraURL: String, extraKeyring: String, list: String) throws -> String {
        let root = try TemporaryDirectory.make(prefix: "strata-build-tree")
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/debian/config").path
        let config = "\(root)/debian/12/config"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/debian/config", withIntermediateDirectories: true)
        for name in ["essential.list", "minbase.list", "template.yaml"] {
            try FileManager.default.copyItem(atPath: "\(shipped)/\(name)", toPath: "\(root)/debian/config/\(name)")
        }
        try """
            version: "12"
            suite: bookworm
            excludes:
              - /usr/share/doc/strata-demo/*
            dummies:
              - name: fake-kernel
                version: "1.0"
            repositories:
              - name: extra
                url: \(extraURL)
                suite: stable
                components: [main]
                keyring: \(extraKeyring)

            """.write(toFile: "\(config)/template.yaml", atomically: true, encoding: .utf8)
        try list.write(toFile: "\(config)/test.list", atomically: true, encoding: .utf8)
        return root
    }
}

/// A local copy of exactly what a lockfile names (signed indexes and package files), served on
/// loopback, so builds and mmdebstrap read the same bytes without loading the real mirror again.
actor LocalMirror {
    static let shared = LocalMirror()

    struct Served {
        let lock: Lockfile
        /// The lockfile with its repository URLs pointing at the loopback copy.
        let localLock: Lockfile
        let server: LoopbackHTTPServer
        let store: String
    }

    /// One preparation for every test, however many suites ask at once: an actor is reentrant at
    /// each `await`, so a plain cached value let two callers build two mirrors and one server
    /// stop under the other (seen as "connection refused" in a parallel run).
    private var preparation: Task<Served, any Error>?

    /// debian/12 minbase, locked against the real mirror (cached) and served locally.
    func minbase() async throws -> Served {
        if let preparation { return try await preparation.value }
        let task = Task { try await Self.prepare() }
        preparation = task
        return try await task.value
    }

    private static func prepare() async throws -> Served {
        let (lock, store) = try await RealMirror.lock("debian/12", set: "minbase")
        // The packages, from the real mirror into the test cache once (later runs find them there).
        _ = try await PackageFetcher(fetcher: try HTTPFetcher(store: store)).fetchAll(lock)
        let mirror = try RealMirror.localMirror(for: lock, store: store)
        var roots = [String: String]()
        for repository in lock.repositories { roots[repository.name] = "\(mirror.base)/\(mirror.roots[repository.url] ?? "")" }
        for package in lock.packages {
            let target = "\(roots[package.repository] ?? "")/\(package.path)"
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: target) {
                try FileManager.default.copyItem(atPath: store.path(of: package.sha256), toPath: target)
            }
        }
        let server = try await LoopbackHTTPServer.start(serving: mirror.base, lifetime: .seconds(1500))
        var local = lock
        local.repositories = lock.repositories.map { repository in
            var copy = repository
            copy.url = server.baseURL + (mirror.roots[repository.url] ?? "")
            return copy
        }
        return Served(lock: lock, localLock: local, server: server, store: store.root)
    }
}

extension BuildFixture {
    static var templates: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates").path
    }

    /// Builds `lock` for the shipped debian/12 minbase into a new store, as a tar.
    static func build(_ lock: Lockfile, output: String, store: String? = nil) async throws -> Builder.Result {
        let spec = try TemplateTree(root: templates).load(target: "debian/12", set: "minbase", architecture: Architecture("amd64"))
        let store = try Store(root: store ?? TemporaryDirectory.make(prefix: "strata-build-store"))
        let builder = Builder(store: store, fetcher: try HTTPFetcher(store: store.blobs), packagers: .testing)
        return try await builder.build(spec: spec, lock: lock, output: output, format: .tar(.none))
    }

    static func extract(_ tar: String) async throws -> String {
        let root = try TemporaryDirectory.make(prefix: "strata-extract")
        _ = try await Shell.run("tar", ["-xpf", tar, "-C", root])
        return root
    }

    static func inChroot(_ root: String, _ script: String) async throws -> Command.Output {
        try await Command.run(
            "/usr/bin/unshare",
            ["--mount", "--", "/bin/sh", "-c", "mount -t proc proc \(root)/proc && exec chroot \(root) /bin/sh -c \(Sandbox.shellQuote(script)) 2>&1"])
    }
}

extension Packagers {
    /// Every packager strata ships, as the executable registers them.
    static let testing = Packagers([DebPackager(), RpmPackager()])
}
