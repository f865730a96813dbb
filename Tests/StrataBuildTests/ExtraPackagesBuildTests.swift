import Foundation
@testable import StrataBuild
import StrataCore
import StrataPackaging
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite(
    "Maintainer scripts, conffiles, triggers and alternatives in a built template",
    .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct ExtraPackagesBuildTests {
    @Test("the built tree holds what dpkg would leave: script output, conffile record, trigger run, alternative")
    func dpkgSideEffects() async throws {
        let served = try await LocalMirror.shared.minbase()
        try await BuildFixture.withArchive(
            list: "@include minbase\nstrata-demo\nstrata-plugin\nstrata-wants-kernel\nstrata-diverter\nstrata-policy\n"
        ) { tree, server in
            let spec = try TemplateTree(root: tree).load(target: "debian/12", set: "test", architecture: Architecture("amd64"))
            let store = try Store(root: served.store)
            let fetcher = try HTTPFetcher(store: store.blobs)
            let lock = try await Planner(fetcher: fetcher, mirrors: try MirrorMap.host(packagers: .testing, overrides: []), packagers: .testing).resolve(spec).lockfile
            #expect(Set(lock.packages.map(\.name)).isSuperset(of: ["strata-demo", "strata-hooks", "strata-plugin", "apt"]))
            #expect(lock.dummies == [DummyPackage(name: "fake-kernel", version: "1.0", provides: [])])
            #expect(!lock.packages.contains { $0.name == "fake-kernel" })
            let output = try TemporaryDirectory.make(prefix: "strata-out") + "/extras.tar"
            let result = try await Builder(store: store, fetcher: fetcher, packagers: .testing).build(
                spec: spec, lock: lock, output: output, format: .tar(.none))
            #expect(result.packages == lock.packages.count)
            let root = try await BuildFixture.extract(output)

            let state = try? String(contentsOfFile: "\(root)/var/lib/strata-demo.state", encoding: .utf8)
            #expect(state == "configured by postinst\n", "the postinst wrote its file")
            let seen = try? String(contentsOfFile: "\(root)/var/lib/strata-hooks.seen", encoding: .utf8)
            #expect(seen == "one\n", "the file trigger fired for the plugin's file")
            let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/usr/bin/strata-demo")
            #expect(link == "/etc/alternatives/strata-demo")
            let alternative = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/etc/alternatives/strata-demo")
            #expect(alternative == "/usr/bin/strata-demo-impl")
            let status = try String(contentsOfFile: "\(root)/var/lib/dpkg/status", encoding: .utf8)
            let md5 = try Digests.md5(file: "\(root)/etc/strata-demo.conf")
            #expect(status.contains(" /etc/strata-demo.conf \(md5)"), "the conffile is recorded with its md5")
            #expect(!FileManager.default.fileExists(atPath: "\(root)/usr/share/doc/strata-demo/README"), "excluded")
            #expect(FileManager.default.fileExists(atPath: "\(root)/usr/share/doc/strata-demo"), "its directory stays")
            let excludes = try? String(contentsOfFile: "\(root)/etc/dpkg/dpkg.cfg.d/strata-excludes", encoding: .utf8)
            #expect(excludes?.contains("path-exclude=/usr/share/doc/strata-demo/*") == true)
            let owners = try await Command.run("/usr/bin/tar", ["-tvf", output, "etc/shadow"])
            #expect(owners.stdoutText.contains("root/shadow"), "named owners from the tree's own passwd and group")
            let tool = try? String(contentsOfFile: "\(root)/usr/bin/strata-tool", encoding: .utf8)
            let diverted = try? String(contentsOfFile: "\(root)/usr/bin/strata-tool.distrib", encoding: .utf8)
            #expect(tool == "#!/bin/sh\necho diverted\n", "the diverting package's file is in place")
            #expect(diverted == "#!/bin/sh\necho original\n", "the diverted file moved aside, as dpkg leaves it")
            let divertList = try await BuildFixture.inChroot(root, "dpkg-divert --list /usr/bin/strata-tool")
            #expect(divertList.stdoutText.contains("diversion of /usr/bin/strata-tool to /usr/bin/strata-tool.distrib by strata-diverter"))
            let policy = try? String(contentsOfFile: "\(root)/usr/sbin/policy-rc.d", encoding: .utf8)
            #expect(policy == "#!/bin/sh\n# the package's own policy\nexit 0\n", "a package's policy-rc.d survives the build")
            let dummy = try await BuildFixture.inChroot(root, "dpkg-query -W -f='${Status} ${Version}' fake-kernel")
            #expect(dummy.stdoutText == "install ok installed 1.0", "the dummy is recorded as installed")
            let audit = try await BuildFixture.inChroot(root, "dpkg --audit")
            #expect(audit.status == 0 && audit.stdoutText.isEmpty, "\(audit.stdoutText)")
            // dpkg itself reports files its path-exclude kept out as missing; nothing else may differ.
            let verify = try await BuildFixture.inChroot(
                root, "dpkg --verify strata-demo strata-hooks strata-plugin strata-orig strata-diverter || true")
            #expect(verify.stdoutText == "missing     /usr/share/doc/strata-demo/README\n", "\(verify.stdoutText)")
            let fsck = try store.fsck()
            #expect(fsck.isClean, "\(fsck.problems)")
        }
    }
}
