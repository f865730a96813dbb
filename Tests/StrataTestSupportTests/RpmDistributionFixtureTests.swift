// The tiny EL-like distribution and dnf as the oracle: the repository is real (rpm reads what
// the specs say), dnf installs the minimal request from it on loopback, and the tree has every
// fact RpmDistributionFixture promises, which is what strata's RPM installs will be held to.
// One dnf install is shared by the checks of the installed tree; it needs root (chroot, chown,
// file capabilities) and Debian's dnf.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let canInstall =
    geteuid() == 0 && Shell.locate("dnf") != nil && FileManager.default.isExecutableFile(atPath: "/bin/busybox")

/// The minimal request installed once per test process by dnf, with the server stopped after.
private let sharedInstall = Task { () throws -> DnfOracle.Installation in
    let fixture = try await RpmFixtureRepo.distribution()
    return try await LoopbackHTTPServer.withServer(serving: fixture.repository.root, lifetime: .seconds(120)) {
        server in
        let oracle = try DnfOracle(repositoryURL: server.baseURL, repositoryKey: fixture.repository.key)
        return try await oracle.install(RpmDistributionFixture.minimalRequest)
    }
}

/// Reads a file of the installed tree (`path` relative to its root).
private func treeText(_ install: DnfOracle.Installation, _ path: String) throws -> String {
    try String(contentsOfFile: "\(install.root)/\(path)", encoding: .utf8)
}

@Suite("The tiny RPM distribution", .timeLimit(.minutes(3)))
struct RpmDistributionRepositoryTests {
    @Test("the repository is signed and its rpms carry the attributes, scripts and weak deps the specs say")
    func repositoryIsReal() async throws {
        let fixture = try await RpmFixtureRepo.distribution()
        let repo = fixture.repository
        let key = try #require(repo.key)
        #expect(
            try await TestGPGKey.verify(
                signature: repo.repomdPath + ".asc", data: repo.repomdPath, keyring: key.keyringPath))
        #expect(repo.packages.filter { $0.spec.name == "fixture-lib" }.map(\.spec.version) == ["1.0", "2.1"])

        let app = "\(repo.root)/\(try #require(repo.package("fixture-app")).path)"
        let files = try await Shell.run(
            "rpm",
            [
                "-qp", "--qf",
                "[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]", app,
            ]
        ).output
        #expect(files.contains("cn -rw-r----- svc:svc /etc/fixture-app/app.conf"))
        #expect(files.contains("g -rw-r----- svc:svc /var/log/fixture-app.log"))
        #expect(files.contains("d -rw-r--r-- root:root /usr/share/doc/fixture-app/README"))
        #expect(files.contains(" drwxr-x--- svc:svc /var/lib/fixture-app"))
        let caps = try await Shell.run("rpm", ["-qp", "--qf", "[%{FILECAPS} %{FILENAMES}\n]", app]).output
        #expect(caps.contains("cap_net_raw=ep /usr/bin/fixture-ping"))
        let inodes = try await Shell.run("rpm", ["-qp", "--qf", "[%{FILEINODES} %{FILENAMES}\n]", app]).output
        let inodeOf = Dictionary(
            inodes.split(separator: "\n").compactMap { line -> (String, String)? in
                let words = line.split(separator: " ")
                return words.count == 2 ? (String(words[1]), String(words[0])) : nil
            }, uniquingKeysWith: { a, _ in a })
        #expect(inodeOf["/usr/bin/fixture-app"] != nil)
        #expect(inodeOf["/usr/bin/fixture-app"] == inodeOf["/usr/bin/fixture-app-compat"])
        #expect(inodeOf["/usr/bin/fixture-app"] != inodeOf["/usr/bin/fixture-ping"])

        let requires = try await Shell.run("rpm", ["-qp", "--requires", app]).output
        #expect(requires.contains("fixture-lib >= 2.0"))
        #expect(requires.contains("/bin/sh"))  // the scriptlets' interpreter, added by rpmbuild
        #expect(try await Shell.run("rpm", ["-qp", "--recommends", app]).output == "fixture-extras\n")
        #expect(try await Shell.run("rpm", ["-qp", "--suggests", app]).output == "postfix-mini\n")
        let scripts = try await Shell.run("rpm", ["-qp", "--scripts", app]).output
        #expect(scripts.contains("preinstall scriptlet (using /bin/sh):"))
        #expect(scripts.contains("useradd -r -g svc"))
        #expect(scripts.contains("posttrans scriptlet (using /bin/sh):"))

        let lib = "\(repo.root)/\(try #require(repo.package("fixture-lib", version: "2.1")).path)"
        #expect(
            try await Shell.run("rpm", ["-qp", "--scripts", lib]).output.contains(
                "postinstall scriptlet (using <lua>):"))
        let host = "\(repo.root)/\(try #require(repo.package("fixture-plugin-host")).path)"
        let triggers = try await Shell.run("rpm", ["-qp", "--filetriggers", host]).output
        #expect(triggers.contains("filetriggerin scriptlet (using /bin/sh) -- /usr/lib/fixture-plugins"))
        #expect(triggers.contains("transfiletriggerin scriptlet (using /bin/sh) -- /usr/lib/fixture-plugins"))

        let rpm = "\(repo.root)/\(try #require(repo.package("rpm")).path)"
        let rpmFiles = try await Shell.run("rpm", ["-qpl", rpm]).output.split(separator: "\n").map(String.init)
        #expect(rpmFiles.contains("/usr/bin/rpm"))
        #expect(rpmFiles.contains("/usr/lib64/ld-linux-x86-64.so.2"))
        #expect(rpmFiles.contains("/usr/lib/rpm/macros.d/macros.dbpath"))
        #expect(!rpmFiles.contains { $0.hasPrefix("/lib/") || $0.hasPrefix("/lib64/") })
        #expect(try await Shell.run("rpm", ["-qp", "--qf", "%{ARCH}", rpm]).output == "x86_64")
        #expect(try await Shell.run("rpm", ["-qp", "--qf", "%{PAYLOADCOMPRESSOR}", rpm]).output == "zstd")
        #expect(try await Shell.run("rpm", ["-qp", "--qf", "%{PAYLOADCOMPRESSOR}", app]).output == "gzip")
    }

    @Test("a spec with a hardlink to nothing, a path with a space or two %post is refused before rpmbuild")
    func badSpecsAreRefused() async throws {
        let bad = [
            RpmPackageSpec(name: "bad-link", version: "1", entries: [.hardlink("/usr/bin/b", to: "/usr/bin/a")]),
            RpmPackageSpec(name: "bad-path", version: "1", files: ["/usr/share/a b": "x\n"]),
            RpmPackageSpec(
                name: "bad-post", version: "1", scriptlets: [RpmSpecScriptlet(.post, "true"), .lua(.post, "x = 1")]),
            RpmPackageSpec(name: "bad-twice", version: "1", files: ["/a": "x"], entries: [.directory("/a")]),
        ]
        for spec in bad {
            do {
                _ = try await RpmFixtureRepo.build(packages: [spec], key: nil)
                Issue.record("\(spec.name) was built")
            } catch let error as StrataError {
                #expect(error.code == .invalidInput, "\(spec.name): \(error)")
                #expect(error.message.contains(spec.name))
            }
        }
    }
}

@Suite(
    "dnf installs the tiny RPM distribution",
    .enabled(if: canInstall, "needs root, dnf and busybox-static"), .timeLimit(.minutes(5)))
struct RpmDistributionInstallTests {
    @Test("dnf installs exactly the expected set: newest fixture-lib, the weak dependency, the suggested mta")
    func installedSet() async throws {
        let install = try await sharedInstall.value
        let fixture = try await RpmFixtureRepo.distribution()
        #expect(install.packages == fixture.minimalInstall)
        #expect(install.transaction == install.packages, "dnf said: \(install.transaction)")
        let names = install.packages.map { $0.split(separator: ":").first.map { String($0.dropLast(2)) } ?? $0 }
        #expect(names.contains(RpmDistributionFixture.weakDependency))
        #expect(names.contains(RpmDistributionFixture.mtaProviders.preferred))
        #expect(!names.contains(RpmDistributionFixture.mtaProviders.other))
        #expect(install.packages.contains("fixture-lib-0:2.1-1.el9.x86_64"))
        #expect(!install.packages.contains("fixture-lib-0:1.0-1.el9.x86_64"))
    }

    @Test("files of %attr(…,svc,svc) belong to the uid and gid the tree's own passwd and group give svc")
    func serviceUserOwnsItsFiles() async throws {
        let install = try await sharedInstall.value
        let passwd = try treeText(install, "etc/passwd").split(separator: "\n")
        let svc = try #require(
            passwd.first { $0.hasPrefix("svc:") }?.split(separator: ":", omittingEmptySubsequences: false))
        let uid = try #require(UInt32(svc[2]))
        let group = try treeText(install, "etc/group").split(separator: "\n")
        let gid = try #require(group.first { $0.hasPrefix("svc:") }.flatMap { UInt32($0.split(separator: ":")[2]) })
        #expect(UInt32(svc[3]) == gid)
        #expect(uid != 0 && uid < 1000)  // a system uid from the tree's useradd, not root's fallback
        let listing = try install.listing()
        for (path, mode) in RpmDistributionFixture.serviceOwned {
            let entry = try #require(listing[path], "\(path) missing")
            #expect(entry.uid == uid && entry.gid == gid, "\(entry)")
            #expect(entry.user == "svc" && entry.group == "svc", "\(entry)")
            #expect(entry.mode == mode, "\(entry)")
        }
        #expect(listing["etc/passwd"]?.uid == 0)
    }

    @Test("the capability, the hardlink pair, the symlink and the skeleton's modes are in the tree")
    func fileAttributes() async throws {
        let install = try await sharedInstall.value
        let listing = try install.listing()
        #expect(listing[RpmDistributionFixture.capabilityPath]?.capability == RpmDistributionFixture.capabilityHex)
        #expect(listing["usr/bin/fixture-app"]?.capability == nil)

        let (first, second) = RpmDistributionFixture.hardlinkPair
        var a = stat()
        var b = stat()
        #expect(lstat("\(install.root)/\(first)", &a) == 0 && lstat("\(install.root)/\(second)", &b) == 0)
        #expect(a.st_ino == b.st_ino && a.st_nlink == 2)
        #expect(listing[first]?.hardlinkGroup == first && listing[second]?.hardlinkGroup == first)
        #expect(listing[RpmDistributionFixture.capabilityPath]?.hardlinkGroup == nil)

        let link = RpmDistributionFixture.symlink
        #expect(listing[link.path]?.kind == .symlink && listing[link.path]?.symlinkTarget == link.target)
        for (path, target) in [("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")] {
            #expect(listing[path]?.symlinkTarget == target, "\(path)")
        }
        #expect(listing["tmp"]?.mode == 0o1777)
        #expect(listing["root"]?.mode == 0o550)
        #expect(listing["proc"]?.kind == .directory && listing["sys"]?.kind == .directory)
        #expect(listing[RpmDistributionFixture.docPath]?.kind == .regular)
        #expect(listing[RpmDistributionFixture.ghostPath] == nil)  // %ghost: owned, not created
    }

    @Test("%post and %posttrans saw $1 = 1, the Lua %post ran for 2.1, the file triggers got the plugin path")
    func scriptletsRan() async throws {
        let install = try await sharedInstall.value
        for (path, content) in RpmDistributionFixture.markerContents {
            #expect(try treeText(install, path) == content, "\(path)")
        }
        let triggered = try treeText(install, RpmDistributionFixture.fileTriggerOutput).split(separator: "\n")
        #expect(triggered.contains { $0 == RpmDistributionFixture.pluginPath }, "\(triggered)")
        let transTriggered = try treeText(install, RpmDistributionFixture.transFileTriggerOutput).split(separator: "\n")
        #expect(transTriggered.contains { $0 == RpmDistributionFixture.pluginPath }, "\(transTriggered)")
        #expect(!FileManager.default.fileExists(atPath: "\(install.root)/var/lib/fixture/fixture-app.preun"))
    }

    @Test("the tree's own rpm lists what dnf installed, and knows the config, ghost and doc flags")
    func treeRpmAgrees() async throws {
        let install = try await sharedInstall.value
        let withDbpath = try await install.runInTree(
            "rpm", ["-qa", "--dbpath", DnfOracle.databasePath, "--qf", DnfOracle.nevraFormat])
        #expect(withDbpath.output.split(separator: "\n").map(String.init).sorted() == install.packages)
        // macros.d/macros.dbpath in the rpm package makes --dbpath unnecessary.
        let plain = try await install.runInTree("rpm", ["-qa", "--qf", DnfOracle.nevraFormat])
        #expect(plain.output.split(separator: "\n").map(String.init).sorted() == install.packages)
        let flags = try await install.runInTree(
            "rpm", ["-q", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]", "filesystem", "fixture-app"]
        ).output
        #expect(flags.contains("cn /etc/passwd") && flags.contains("cn /etc/fixture-app/app.conf"))
        #expect(flags.contains("g /var/log/fixture-app.log"))
        #expect(flags.contains("d /usr/share/doc/fixture-app/README"))
        let verify = try await install.runInTree("rpm", ["-V", "fixture-app"], check: false)
        #expect(verify.exitCode == 0, "rpm -V: \(verify.output)\(verify.errorOutput)")
    }

    @Test("a tree's listing differs from a changed copy in exactly the changes, path by path")
    func diffReportsChanges() async throws {
        let install = try await sharedInstall.value
        // A copy of its own: the other tests run rpm in the shared tree, which rewrites the
        // rpmdb's shared-memory file while this one reads it.
        let original = try TemporaryDirectory.make(prefix: "treecopy")
        try await Shell.run("cp", ["-a", "\(install.root)/.", original])
        let reference = try TreeListing.read(root: original)
        #expect(reference.diff(against: reference).isEmpty)

        let copy = try TemporaryDirectory.make(prefix: "treecopy")
        try await Shell.run("cp", ["-a", "\(original)/.", copy])
        let unchanged = try TreeListing.read(root: copy)
        #expect(unchanged.diff(against: reference).isEmpty, "cp -a: \(unchanged.diff(against: reference))")

        #expect(chmod("\(copy)/etc/fixture-app/app.conf", 0o644) == 0)
        #expect(lchown("\(copy)/var/lib/fixture-app", 0, 0) == 0)
        try Data("changed\n".utf8).write(to: URL(fileURLWithPath: "\(copy)/usr/bin/fixture-ping"))  // drops the caps
        try FileManager.default.removeItem(atPath: "\(copy)/usr/bin/fixture-app-compat")
        try Data().write(to: URL(fileURLWithPath: "\(copy)/usr/bin/extra"))
        let changed = try TreeListing.read(root: copy)
        let differences = changed.diff(against: reference, allowlist: ["usr/bin/extra"])
        let byPath = Dictionary(differences.map { ($0.path, $0.reasons) }, uniquingKeysWith: { a, _ in a })
        #expect(
            Set(byPath.keys) == [
                "etc/fixture-app/app.conf", "var/lib/fixture-app", "usr/bin/fixture-ping", "usr/bin/fixture-app",
                "usr/bin/fixture-app-compat",
            ], "\(differences)")
        #expect(byPath["etc/fixture-app/app.conf"] == [.mode(0o644, 0o640)])
        #expect(byPath["var/lib/fixture-app"]?.count == 1)
        #expect(byPath["usr/bin/fixture-app-compat"] == [.onlyInReference])
        #expect(byPath["usr/bin/fixture-app"] == [.hardlinks(nil, "usr/bin/fixture-app")])
        let ping = byPath["usr/bin/fixture-ping"] ?? []
        #expect(ping.contains(.capability(nil, RpmDistributionFixture.capabilityHex)))
        #expect(ping.contains { if case .content = $0 { true } else { false } })
        #expect(changed.diff(against: reference).contains { $0.path == "usr/bin/extra" && $0.reasons == [.onlyInTree] })
    }

    @Test("a second dnf install of the same request gives the same tree, but for dnf's own leftovers")
    func dnfIsReproducibleButForLeftovers() async throws {
        let first = try await sharedInstall.value
        let fixture = try await RpmFixtureRepo.distribution()
        let second = try await LoopbackHTTPServer.withServer(serving: fixture.repository.root, lifetime: .seconds(120))
        {
            server in
            try await DnfOracle(repositoryURL: server.baseURL).install(RpmDistributionFixture.minimalRequest)
        }
        #expect(second.packages == first.packages)
        let differences = try second.listing().diff(
            against: try first.listing(), allowlist: first.leftovers + second.leftovers)
        #expect(differences.isEmpty, "\(differences.map(\.description).joined(separator: "\n"))")
        // What the allowlist hides is really there.
        let leftovers = try first.listing().paths.filter { path in
            DnfOracle.leftoverPatterns.contains { fnmatch($0, path, 0) == 0 }
        }
        #expect(leftovers.contains("var/log/dnf.rpm.log") && leftovers.contains("var/lib/rpm/rpmdb.sqlite"))
        #expect(!leftovers.contains { $0.hasPrefix("root/.rpmdb") })
        #expect(!FileManager.default.fileExists(atPath: "\(first.root)/root/.rpmdb"))
    }

    @Test("dnf refuses the repository with an unrelated key, and reports a missing package as unsatisfiable")
    func oracleFailures() async throws {
        let fixture = try await RpmFixtureRepo.distribution()
        let unrelated = try await TestGPGKey.unrelated()
        try await LoopbackHTTPServer.withServer(serving: fixture.repository.root, lifetime: .seconds(120)) { server in
            for (oracle, request, expected) in [
                (
                    try DnfOracle(repositoryURL: server.baseURL, repositoryKey: unrelated), ["busybox"],
                    StrataError.Code.verificationFailed
                ),
                (try DnfOracle(repositoryURL: server.baseURL), ["no-such-package"], .unsatisfiable),
            ] {
                do {
                    let install = try await oracle.install(request)
                    Issue.record("installed \(install.packages)")
                } catch let error as StrataError {
                    #expect(error.code == expected, "\(error)")
                }
            }
        }
    }
}
