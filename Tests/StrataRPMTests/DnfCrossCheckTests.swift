// Cross-check: the set strata's pool resolves for a request against the one dnf resolves against
// the same repository served on loopback, through dnf's Python API (dnf.Base.resolve()), which is
// what `dnf install` does before it asks for confirmation. Needs Debian's `dnf` package.
import Foundation
import StrataCore
import StrataRPM
import StrataSolver
import StrataTestSupport
import Testing

private let dnfPython = "/usr/bin/python3"
private let dnfPresent =
    FileManager.default.isExecutableFile(atPath: "/usr/bin/dnf")
    && FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/dnf/base.py")

/// Prints `name epoch:version-release.arch` per package dnf would install, sorted.
private let resolveScript = """
    import sys, dnf
    root, url, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    base = dnf.Base()
    c = base.conf
    c.installroot = root
    c.reposdir = []
    c.cachedir = root + "/cache"
    c.substitutions["releasever"] = "39"
    c.substitutions["basearch"] = "x86_64"
    c.install_weak_deps = False
    c.gpgcheck = False
    base.repos.add_new_repo("fixture", c, baseurl=[url], repo_gpgcheck=False, gpgcheck=False)
    base.fill_sack(load_system_repo=False)
    for n in names:
        base.install(n)
    base.resolve()
    for p in sorted(base.transaction.install_set, key=lambda p: p.name):
        print("%s-%s-%s.%s" % (p.name, p.version, p.release, p.arch))
    """

@Suite("dnf cross-check", .enabled(if: dnfPresent, "needs dnf (apt-get install dnf)"), .timeLimit(.minutes(3)))
struct DnfCrossCheckTests {
    @Test(
        "strata resolves the same set as dnf",
        arguments: [
            ["foo-tools"], ["libfoo"], ["mailx-mini"], ["smtpd-beta", "mailx-mini"], ["foo-tools", "mailx-mini"],
        ])
    func sameAsDnf(install: [String]) async throws {
        let repo = try await RpmFixtureRepo.standard()
        let env = try RpmTestEnvironment()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let indexes = try await env.client.fetchIndexes(repo.source(server))
            let pool = try SolvPool(family: .rpm, architecture: Architecture("amd64"))
            try pool.addRPM(indexes, store: env.store)
            var request = SolveRequest()
            request.install = install
            let ours = try pool.solve(request).map {
                "\(pool.name(of: $0))-\(pool.version(of: $0)).\(pool.arch(of: $0))"
            }.sorted()

            let root = try TemporaryDirectory.make(prefix: "dnfroot")
            let dnf = try await Shell.run(
                dnfPython, ["-c", resolveScript, root, server.baseURL] + install, timeout: .seconds(90))
            let theirs = dnf.output.split(separator: "\n").map(String.init).sorted()
            #expect(!theirs.isEmpty)
            #expect(ours == theirs, "dnf: \(theirs)\nstrata: \(ours)")
        }
    }
}
