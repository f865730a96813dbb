// A tiny EL-like distribution as an rpm-md repository, built at test time with rpmbuild and
// createrepo_c and signed with TestGPGKey.archive(): enough of a system for `dnf --installroot`
// to install it for real (scriptlets need `/bin/sh`, which the static busybox provides) and for
// the installed tree to query its own database (`chroot TREE rpm -qa`, with the host's rpm and
// its libraries copied in). Each package below exists to exercise one thing an rpm installer
// must get right; RpmDistributionFixture names what a test can check afterwards.
//
// The two large packages (busybox, rpm: about 10 MB of host binaries) have zstd payloads, as
// EL9's and Fedora's do, at a fast level; the rest keep rpmbuild's gzip.
//
// Needs on the host: rpm, rpmbuild, createrepo_c, gpg, ldd and busybox-static's /bin/busybox.
import Foundation
import StrataCore

extension RpmFixtureRepo {
    private static let sharedDistribution = Task { try await buildDistribution(key: TestGPGKey.archive()) }

    /// The tiny distribution, built once per test process and shared; do not modify it.
    /// - Throws: ``StrataError`` `.notFound` when a host tool or file is missing (busybox-static),
    ///   `.toolFailed` when a tool fails.
    public static func distribution() async throws -> RpmDistributionFixture { try await sharedDistribution.value }

    /// Builds the tiny distribution afresh (for a test that must change or break it).
    ///
    /// - Parameters:
    ///   - key: the key `repomd.xml.asc` is made with, or `nil` for an unsigned repository.
    ///   - root: where to build; a new temporary directory when `nil`.
    /// - Returns: the repository and what installing it should give.
    /// - Throws: as ``distribution()``.
    public static func buildDistribution(key: TestGPGKey?, at root: String? = nil) async throws
        -> RpmDistributionFixture
    {
        let packages = try await distributionPackages()
        return RpmDistributionFixture(repository: try await build(packages: packages, key: key, at: root))
    }

    /// The packages of the tiny distribution; what each is for is written beside it.
    /// - Throws: ``StrataError`` `.notFound` when busybox-static or rpm is missing on the host.
    public static func distributionPackages() async throws -> [RpmPackageSpec] {
        [
            filesystemPackage, try await busyboxPackage(), try await rpmPackage(),
            // Two versions of one library: dnf installs the newest that fits (fixture-app needs
            // >= 2.0 anyway). Its %post is Lua, run inside rpm, chrooted like a shell scriptlet.
            fixtureLib(version: "1.0"), fixtureLib(version: "2.1"),
            fixtureApp,
            // Recommended by fixture-app: a weak dependency dnf installs by default.
            RpmPackageSpec(
                name: "fixture-extras", version: "1.0", release: "1.el9", requires: ["filesystem"],
                files: ["/usr/share/fixture-extras/README": "extras, pulled in by Recommends\n"]),
            // Watches /usr/lib/fixture-plugins: each trigger appends the paths it gets on stdin.
            RpmPackageSpec(
                name: "fixture-plugin-host", version: "1.0", release: "1.el9", requires: ["busybox"],
                entries: [.directory("/usr/lib/fixture-plugins")],
                fileTriggers: [
                    RpmSpecFileTrigger(
                        .fileTriggerIn, prefixes: ["/usr/lib/fixture-plugins"],
                        "mkdir -p /var/lib/fixture\ncat >> /\(RpmDistributionFixture.fileTriggerOutput)\n"),
                    RpmSpecFileTrigger(
                        .transFileTriggerIn, prefixes: ["/usr/lib/fixture-plugins"],
                        "mkdir -p /var/lib/fixture\ncat >> /\(RpmDistributionFixture.transFileTriggerOutput)\n"),
                ]),
            // Installs a file under the watched prefix.
            RpmPackageSpec(
                name: "fixture-plugin-hello", version: "1.0", release: "1.el9", requires: ["fixture-plugin-host"],
                files: [RpmDistributionFixture.pluginPath: "hello plugin\n"]),
            // Two providers of the virtual `mta`. Without a hint dnf (libsolv) takes esmtp-mini
            // here; fixture-app's `Suggests: postfix-mini` makes it take postfix-mini, because
            // libsolv prefers a provider that a package in the transaction suggests
            // (policy.c: prefer_suggested), as Fedora packages steer `Requires: mta`-style choices.
            RpmPackageSpec(
                name: "esmtp-mini", version: "1.8", release: "3.el9", requires: ["filesystem"], provides: ["mta"],
                files: ["/usr/sbin/sendmail.esmtp": "#!/bin/sh\necho esmtp\n"]),
            RpmPackageSpec(
                name: "postfix-mini", version: "3.5.9", release: "1.el9", requires: ["filesystem"], provides: ["mta"],
                files: ["/usr/sbin/sendmail.postfix": "#!/bin/sh\necho postfix\n"]),
        ]
    }

    /// The root skeleton, as EL's filesystem and setup packages make it: merged /usr, the sticky
    /// /tmp, a 0550 /root, and passwd/group with root and a few system users.
    static let filesystemPackage = RpmPackageSpec(
        name: "filesystem", version: "3.16", release: "2.el9",
        entries: [
            .symlink("/bin", to: "usr/bin"), .symlink("/sbin", to: "usr/sbin"),
            .symlink("/lib", to: "usr/lib"), .symlink("/lib64", to: "usr/lib64"),
            .directory("/dev"), .directory("/etc"), .directory("/home"), .directory("/run"),
            .directory("/proc", mode: 0o555), .directory("/sys", mode: 0o555),
            .directory("/root", mode: 0o550), .directory("/tmp", mode: 0o1777),
            .directory("/usr"), .directory("/usr/bin"), .directory("/usr/sbin"), .directory("/usr/lib"),
            .directory("/usr/lib64"), .directory("/usr/share"), .directory("/usr/share/doc"),
            .directory("/var"), .directory("/var/lib"), .directory("/var/log"), .directory("/var/cache"),
            .directory("/var/tmp", mode: 0o1777),
            .file(
                "/etc/passwd",
                """
                root:x:0:0:root:/root:/bin/sh
                bin:x:1:1:bin:/bin:/sbin/nologin
                daemon:x:2:2:daemon:/sbin:/sbin/nologin
                adm:x:3:4:adm:/var/adm:/sbin/nologin
                nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin

                """, mode: 0o644, directives: [.configNoReplace]),
            .file(
                "/etc/group",
                """
                root:x:0:
                bin:x:1:
                daemon:x:2:
                sys:x:3:
                adm:x:4:
                wheel:x:10:
                users:x:100:
                nobody:x:65534:

                """, mode: 0o644, directives: [.configNoReplace]),
        ])

    /// `useradd` for scriptlets: appends to /etc/passwd, taking the highest free uid below 1000
    /// for `-r` (as shadow-utils does for system users). Options: -r -M -u -g -d -s.
    static let useraddScript = """
        #!/bin/sh
        # strata fixture useradd: appends one line to /etc/passwd.
        set -e
        uid=; group=; home=/; shell=/sbin/nologin
        while [ $# -gt 1 ]; do
            case "$1" in
                -r|-M) shift ;;
                -u) uid=$2; shift 2 ;;
                -g) group=$2; shift 2 ;;
                -d) home=$2; shift 2 ;;
                -s) shell=$2; shift 2 ;;
                *) echo "useradd: unsupported option $1" >&2; exit 2 ;;
            esac
        done
        name=$1
        if grep -q "^$name:" /etc/passwd; then echo "useradd: user '$name' already exists" >&2; exit 9; fi
        [ -n "$uid" ] || uid=$(awk -F: 'BEGIN { u = 999 } { used[$3] = 1 } END { while (u in used) u--; print u }' /etc/passwd)
        gid=$(awk -F: -v g="${group:-$name}" '$1 == g { print $3 }' /etc/group)
        if [ -z "$gid" ]; then echo "useradd: group '${group:-$name}' does not exist" >&2; exit 6; fi
        echo "$name:x:$uid:$gid::$home:$shell" >> /etc/passwd

        """

    /// `groupadd` for scriptlets: appends to /etc/group (highest free gid below 1000). Options: -r -g.
    static let groupaddScript = """
        #!/bin/sh
        # strata fixture groupadd: appends one line to /etc/group.
        set -e
        gid=
        while [ $# -gt 1 ]; do
            case "$1" in
                -r) shift ;;
                -g) gid=$2; shift 2 ;;
                *) echo "groupadd: unsupported option $1" >&2; exit 2 ;;
            esac
        done
        name=$1
        if grep -q "^$name:" /etc/group; then echo "groupadd: group '$name' already exists" >&2; exit 9; fi
        [ -n "$gid" ] || gid=$(awk -F: 'BEGIN { g = 999 } { used[$3] = 1 } END { while (g in used) g--; print g }' /etc/group)
        echo "$name:x:$gid:" >> /etc/group

        """

    /// The applets scriptlets here use, each a symlink to busybox in /usr/bin.
    static let busyboxApplets = [
        "awk", "cat", "chmod", "chown", "cut", "echo", "env", "false", "grep", "head", "id", "ln", "ls", "mkdir",
        "printf", "readlink", "rm", "sed", "sh", "sort", "stat", "tail", "test", "touch", "tr", "true",
    ]

    /// The shell: the host's static busybox as /usr/bin/busybox, `sh` and a few applets, and
    /// shell-script useradd/groupadd (Debian's busybox-static has no adduser applet). It provides
    /// `/bin/sh` by name, as EL's bash does, since rpmbuild makes every scriptlet require it.
    static func busyboxPackage() async throws -> RpmPackageSpec {
        let host = "/bin/busybox"
        guard FileManager.default.isExecutableFile(atPath: host) else {
            throw StrataError(.notFound, "\(host) is missing: apt-get install busybox-static")
        }
        let ldd = try await Shell.run("ldd", [host], environment: ["LC_ALL": "C"], check: false)
        guard ldd.exitCode != 0 || ldd.output.contains("statically linked") else {
            throw StrataError(
                .invalidInput, "\(host) is dynamically linked (Debian's busybox): apt-get install busybox-static")
        }
        var entries: [RpmSpecFile] = [.copy(of: host, to: "/usr/bin/busybox", mode: 0o755)]
        entries += busyboxApplets.map { .symlink("/usr/bin/\($0)", to: "busybox") }
        entries += [
            .symlink("/usr/sbin/nologin", to: "../bin/busybox"),
            .file("/usr/sbin/useradd", useraddScript, mode: 0o755),
            .file("/usr/sbin/groupadd", groupaddScript, mode: 0o755),
        ]
        return RpmPackageSpec(
            name: "busybox", version: "1.35.0", release: "4.el9", architecture: "x86_64", requires: ["filesystem"],
            provides: ["/bin/sh", "/usr/bin/sh"], entries: entries, payloadCompression: "w3.zstdio")
    }

    /// The rpm files read at run time besides the binaries (what `strace rpm -qa` opens).
    static let rpmConfigFiles = ["rpmrc", "macros", "platform/x86_64-linux/macros", "platform/noarch-linux/macros"]

    /// The host's rpm, so that the tree can read its own database: /usr/bin/rpm and rpmdb, their
    /// libraries and loader, its configuration, and a macro file setting `%_dbpath` to
    /// /var/lib/rpm (Debian's default, `~/.rpmdb` through bash, would not work in the tree).
    static func rpmPackage() async throws -> RpmPackageSpec {
        let version =
            try await Shell.run("rpm", ["--version"]).output
            .split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard !version.isEmpty, version.allSatisfy({ $0.isNumber || $0 == "." }) else {
            throw StrataError(.toolFailed, "cannot read the host rpm's version from `rpm --version`")
        }
        var entries = try await RpmSpecFile.hostExecutables(["/usr/bin/rpm", "/usr/bin/rpmdb"])
        let configDirectory = "/usr/lib/rpm"
        var names = rpmConfigFiles
        let listing = (try? FileManager.default.contentsOfDirectory(atPath: configDirectory)) ?? []
        names += listing.filter { $0.hasPrefix("rpmpopt-") }
        names += ((try? FileManager.default.contentsOfDirectory(atPath: "\(configDirectory)/fileattrs")) ?? [])
            .map { "fileattrs/\($0)" }
        for name in names.sorted() where FileManager.default.fileExists(atPath: "\(configDirectory)/\(name)") {
            entries.append(.copy(of: "\(configDirectory)/\(name)", to: "\(configDirectory)/\(name)", mode: 0o644))
        }
        entries.append(.file("\(configDirectory)/macros.d/macros.dbpath", "%_dbpath /var/lib/rpm\n", mode: 0o644))
        entries.append(.directory("/var/lib/rpm"))
        entries += ownedDirectories(of: entries, besides: filesystemPackage).map { .directory($0) }
        return RpmPackageSpec(
            name: "rpm", version: version, release: "1.el9", architecture: "x86_64", requires: ["filesystem"],
            summary: "the host's rpm \(version), its libraries and configuration", entries: entries,
            payloadCompression: "w3.zstdio")
    }

    /// Every ancestor directory of `entries` that neither they nor `base` list.
    static func ownedDirectories(of entries: [RpmSpecFile], besides base: RpmPackageSpec) -> [String] {
        let listed = Set(entries.map(\.path) + base.allFiles.map(\.path))
        var directories = Set<String>()
        for entry in entries {
            var parent = (entry.path as NSString).deletingLastPathComponent
            while parent != "/", !parent.isEmpty, !listed.contains(parent) {
                directories.insert(parent)
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
        return directories.sorted()
    }

    /// fixture-lib at `version`: a library file, the markers directory, and a Lua %post that
    /// writes its version and `arg[2]` (Lua's `$1`).
    static func fixtureLib(version: String) -> RpmPackageSpec {
        RpmPackageSpec(
            name: "fixture-lib", version: version, release: "1.el9", architecture: "x86_64",
            requires: ["filesystem"], provides: ["libfixture.so.1()(64bit)"],
            files: ["/usr/lib64/libfixture.so.1": "fixture-lib \(version)\n"],
            entries: [.directory("/var/lib/fixture")],
            scriptlets: [
                .lua(
                    .post,
                    """
                    local f = assert(io.open("/\(RpmDistributionFixture.luaMarker)", "w"))
                    f:write("fixture-lib %{version} lua post ", arg[2], "\\n")
                    f:close()
                    """)
            ])
    }

    /// The application: a %pre that creates the `svc` user with busybox tools and files owned
    /// by it, a capability, a hardlink pair, a symlink, config, ghost and doc files, shell
    /// %post/%posttrans writing `$1`, a weak dependency and the virtual `mta`.
    static let fixtureApp = RpmPackageSpec(
        name: "fixture-app", version: "1.0", release: "1.el9", architecture: "x86_64",
        requires: ["busybox", "fixture-lib >= 2.0", "mta", "fixture-plugin-hello"],
        recommends: ["fixture-extras"], suggests: ["postfix-mini"],
        scriptletRequires: [.pre: ["busybox", "filesystem"], .post: ["busybox"]],
        entries: [
            .directory("/etc/fixture-app"),
            .file(
                "/etc/fixture-app/app.conf", "listen = 127.0.0.1\n", mode: 0o640, user: "svc", group: "svc",
                directives: [.configNoReplace]),
            .directory("/var/lib/fixture-app", mode: 0o750, user: "svc", group: "svc"),
            .file("/var/log/fixture-app.log", "", mode: 0o640, user: "svc", group: "svc", directives: [.ghost]),
            .file("/usr/bin/fixture-app", "#!/bin/sh\necho fixture-app\n", mode: 0o755),
            .hardlink("/usr/bin/fixture-app-compat", to: "/usr/bin/fixture-app"),
            .symlink("/usr/bin/fapp", to: "fixture-app"),
            .file("/usr/bin/fixture-ping", "#!/bin/sh\necho ping\n", mode: 0o755, capabilities: "cap_net_raw=ep"),
            .directory("/usr/share/doc/fixture-app"),
            .file("/usr/share/doc/fixture-app/README", "fixture-app: documentation\n", directives: [.doc]),
        ],
        scriptlets: [
            RpmSpecScriptlet(
                .pre,
                """
                grep -q '^svc:' /etc/group || groupadd -r svc
                grep -q '^svc:' /etc/passwd || useradd -r -g svc -d /var/lib/fixture-app -s /sbin/nologin svc
                """),
            RpmSpecScriptlet(
                .post, "mkdir -p /var/lib/fixture\necho \"fixture-app post $1\" > /\(RpmDistributionFixture.postMarker)"
            ),
            RpmSpecScriptlet(
                .posttrans, "echo \"fixture-app posttrans $1\" > /\(RpmDistributionFixture.posttransMarker)"),
            RpmSpecScriptlet(.preun, "echo \"fixture-app preun $1\" > /var/lib/fixture/fixture-app.preun"),
            RpmSpecScriptlet(.postun, "echo \"fixture-app postun $1\" > /var/lib/fixture/fixture-app.postun"),
        ])
}
