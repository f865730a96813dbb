// Issue 9, item 2: a maintainer script of a package in a build is confined (CStrataShim/sandbox.c).
// A fixture package's postinst tries each way out that a chroot left open — mount, chroot, mknod,
// the host's files through /proc, the host's processes, network interfaces, inherited descriptors
// and capabilities — and records what it saw in the tree; the test reads that record.
import Foundation
@testable import StrataBuild
import StrataCore
import StrataPackaging
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("The script sandbox", .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct SandboxTests {
    @Test("a postinst cannot mount, chroot, mknod, reach the host's files or processes, or keep sys_admin")
    func escapes() async throws {
        let served = try await LocalMirror.shared.minbase()
        let secretDir = try TemporaryDirectory.make(prefix: "strata-host-secret")
        let secret = "\(secretDir)/secret"
        try "host only\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let probe = DebPackageSpec(
            name: "strata-probe", version: "1.0-1", architecture: "all",
            maintainerScripts: [
                "postinst": """
                    #!/bin/sh
                    out=/var/lib/strata-probe
                    : > $out
                    try() { label=$1; shift; if "$@" >/dev/null 2>&1; then echo "$label: ALLOWED" >> $out; else echo "$label: refused" >> $out; fi; }
                    # perl-base is in every Debian tree; minbase has no mount(8).
                    try mount perl -e 'my ($s, $t, $f) = ("probe", "/mnt", "tmpfs"); exit(syscall(165, $s, $t, $f, 0, 0) == 0 ? 0 : 1)'
                    # The classic way out of a chroot: chroot deeper, climb, chroot to where you stand.
                    try chroot perl -e 'mkdir "/tmp/e"; chroot "/tmp/e" or exit 1; chdir ".." for 1..64; chroot "." or exit 1; open(F, "<", "\(secret)") or exit 1; exit 0'
                    try mknod mknod /tmp/probe-disk b 8 0
                    try cat cat \(secret)
                    try proc-root cat /proc/1/root\(secret)
                    try proc-cwd cat /proc/1/cwd\(secret)
                    echo "pids: $(ls -d /proc/[0-9]* | wc -l)" >> $out
                    echo "fds: $(ls /proc/self/fd | wc -l)" >> $out
                    echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' ')" >> $out
                    grep -E '^Cap(Eff|Bnd):' /proc/self/status >> $out
                    grep NoNewPrivs /proc/self/status >> $out
                    # pid 1 of the sandbox (its waiting init) keeps no more than the script.
                    grep -E '^Cap(Eff|Bnd):' /proc/1/status | sed 's/^/init-/' >> $out
                    # debootstrap and mmdebstrap run scripts in a chroot, and scripts ask.
                    if ischroot; then echo "ischroot: yes" >> $out; else echo "ischroot: no ($?)" >> $out; fi
                    echo "userns: $(readlink /proc/self/ns/user)" >> $out
                    read inside outside count < /proc/self/uid_map; echo "uid_map: $inside $outside $count" >> $out
                    exit 0
                    """
            ])
        let key = try await TestGPGKey.archive()
        let repo = try await DebFixtureRepo.build(
            packages: [probe], suites: [DebSuite(name: "stable", codename: "strata")], key: key)
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try BuildFixture.tree(extraURL: server.baseURL, extraKeyring: key.keyringPath, list: "@include minbase\nstrata-probe\n")
            let spec = try TemplateTree(root: tree).load(target: "debian/12", set: "test", architecture: Architecture("amd64"))
            let store = try Store(root: served.store)
            let fetcher = try HTTPFetcher(store: store.blobs)
            let lock = try await Planner(fetcher: fetcher, mirrors: try MirrorMap.host(packagers: .testing, overrides: []), packagers: .testing).resolve(spec).lockfile
            let output = try TemporaryDirectory.make(prefix: "strata-out") + "/probe.tar"
            _ = try await Builder(store: store, fetcher: fetcher, packagers: .testing).build(spec: spec, lock: lock, output: output, format: .tar(.none))
            let seen = try await Command.run("/usr/bin/tar", ["-xOf", output, "var/lib/strata-probe"]).stdoutText
            for attempt in ["mount", "chroot", "mknod", "cat", "proc-root", "proc-cwd"] {
                #expect(!seen.contains("\(attempt): ALLOWED"), "\(attempt) was allowed:\n\(seen)")
            }
            #expect(seen.components(separatedBy: ": refused").count - 1 == 6, "\(seen)")
            let pids = seen.split(separator: "\n").first { $0.hasPrefix("pids: ") }.flatMap { Int($0.dropFirst(6)) }
            #expect((pids ?? 99) < 10, "only the script's own processes are visible:\n\(seen)")
            #expect(seen.contains("fds: 4"), "0, 1, 2 and ls's own directory descriptor:\n\(seen)")
            #expect(seen.contains("interfaces: lo \n"), "a network namespace of its own:\n\(seen)")
            #expect(seen.contains("NoNewPrivs:\t1"), "\(seen)")
            #expect(seen.contains("ischroot: yes"), "scripts see a chroot, as under debootstrap:\n\(seen)")
            #expect(seen.contains("init-CapEff:"), "\(seen)")
            // A user namespace of its own, every id mapped to itself (the tree is the host's ids).
            let hostNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")
            #expect(seen.contains("userns: user:["), "\(seen)")
            #expect(!seen.contains("userns: \(hostNamespace)"), "the script runs in the host's user namespace:\n\(seen)")
            #expect(seen.contains("uid_map: 0 0 4294967295"), "\(seen)")
            for line in seen.split(separator: "\n") where line.hasPrefix("Cap") || line.hasPrefix("init-Cap") {
                let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16) ?? UInt64.max
                for (name, bit) in [("sys_admin", 21), ("sys_chroot", 18), ("mknod", 27), ("sys_module", 16), ("sys_ptrace", 19)] {
                    #expect(mask & (1 << UInt64(bit)) == 0, "\(line) keeps \(name)")
                }
                #expect(mask & 1 != 0, "\(line): chown is kept (scripts need it)")
            }
        }
    }
}

/// The sandbox's user namespace on a small tree of a static busybox, no mirror needed: a tree owned
/// by a subordinate range (as an unprivileged container's is) runs its script as that range's root,
/// who can change what the range owns and nothing the host's ids own, whatever capability it keeps.
@Suite("The script sandbox's user namespace", .enabled(if: BuildFixture.isRoot && FileManager.default.fileExists(atPath: "/bin/busybox"), "needs root and busybox-static"))
struct SandboxUserNamespaceTests {
    /// A tree with /bin/sh (busybox), /proc, /sys and /tmp, every file owned by `owner`.
    func busyboxTree(owner: UInt32) throws -> String {
        let root = try TemporaryDirectory.make(prefix: "strata-sandbox-ids")
        for directory in ["bin", "proc", "sys", "tmp", "etc", "dev"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: "\(root)/bin/busybox")
        for tool in ["sh", "cat", "id", "touch", "chown", "chmod", "rm", "mknod", "readlink", "tr", "echo", "head"] {
            try FileManager.default.createSymbolicLink(atPath: "\(root)/bin/\(tool)", withDestinationPath: "busybox")
        }
        _ = try Command.runBlocking("/bin/chown", ["-hR", "\(owner):\(owner)", root])
        return root
    }

    func owner(_ path: String) throws -> UInt32 {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return info.st_uid
    }

    @Test("a tree owned by a subordinate range: the script is that range's root and cannot touch the host's ids")
    func subordinateRange() throws {
        let base: UInt32 = 300_000
        let root = try busyboxTree(owner: base)
        // A file the host's root owns, planted in the container's tree.
        try "host's\n".write(toFile: "\(root)/etc/hosts-own", atomically: false, encoding: .utf8)
        chown("\(root)/etc/hosts-own", 0, 0)
        chmod("\(root)/etc/hosts-own", 0o644)
        let script = """
            try() { label=$1; shift; if "$@" >>/tmp/try.log 2>&1; then echo "$label: ALLOWED"; else echo "$label: refused ($(tail -n 1 /tmp/try.log))"; fi; }
            echo "id: $(id -u):$(id -g)"
            read inside outside count < /proc/self/uid_map; echo "map: $inside $outside $count"
            touch /tmp/made-inside
            try write-host-file sh -c 'echo x >> /etc/hosts-own'
            try chown-host-file chown 0:0 /etc/hosts-own
            try chmod-host-file chmod 666 /etc/hosts-own
            try chown-to-unmapped chown 70000 /tmp/made-inside
            try mknod mknod /tmp/disk b 8 0
            echo done
            """
        let output = try Sandbox.run(root: root, script: script, environment: [:], what: "the probe", ids: IDMap(outside: base, count: 65536))
        #expect(output.contains("id: 0:0"), "\(output)")
        #expect(output.contains("map: 0 300000 65536"), "\(output)")
        #expect(try owner("\(root)/tmp/made-inside") == base, "a file made inside is owned by the range's first id")
        for attempt in ["write-host-file", "chown-host-file", "chmod-host-file", "chown-to-unmapped", "mknod"] {
            #expect(output.contains("\(attempt): refused"), "\(attempt):\n\(output)")
        }
        #expect(try String(contentsOfFile: "\(root)/etc/hosts-own", encoding: .utf8) == "host's\n")
        #expect(try owner("\(root)/etc/hosts-own") == 0)
        try FileManager.default.removeItem(atPath: root)
    }

    @Test("the identity map: the script's files are the host's root's, in a user namespace of its own")
    func identity() throws {
        let root = try busyboxTree(owner: 0)
        let output = try Sandbox.run(
            root: root, script: "touch /tmp/f; chown 123:456 /tmp/f; readlink /proc/self/ns/user", environment: [:],
            what: "the probe", ids: .identity)
        let hostNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")
        #expect(output.hasPrefix("user:["), "\(output)")
        #expect(!output.contains(hostNamespace), "\(output)")
        var info = stat()
        #expect(lstat("\(root)/tmp/f", &info) == 0 && info.st_uid == 123 && info.st_gid == 456)
        try FileManager.default.removeItem(atPath: root)
    }

    @Test("the build's map: /proc/sys and sysrq-trigger are read-only; a device node in the tree opens nothing; /dev/null works")
    func procAndDevices() throws {
        let root = try busyboxTree(owner: 0)
        // The tree's /dev/null (bound over by the host's) and a node a package or a hostile tree holds.
        #expect(mknod("\(root)/dev/null", S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
        #expect(mknod("\(root)/dev/planted", S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
        let script = """
            try() { label=$1; shift; if "$@" >>/tmp/try.log 2>&1; then echo "$label: ALLOWED"; else echo "$label: refused ($(tail -n 1 /tmp/try.log))"; fi; }
            try dev-null sh -c 'echo x > /dev/null'
            try planted-node sh -c 'head -c 1 /dev/planted'
            # The same value written back: harmless if it were allowed.
            # kernel.core_pattern names what runs, as the host's root, when any process dumps core.
            try sysctl sh -c 'v=$(cat /proc/sys/kernel/core_pattern); echo "$v" > /proc/sys/kernel/core_pattern'
            # Opened for writing, nothing written: harmless if it were allowed (absent on kernels without sysrq).
            if [ -e /proc/sysrq-trigger ]; then try sysrq-trigger sh -c ': > /proc/sysrq-trigger'; else echo "sysrq-trigger: refused (absent)"; fi
            echo done
            """
        let output = try Sandbox.run(root: root, script: script, environment: [:], what: "the probe", ids: .identity)
        #expect(output.contains("dev-null: ALLOWED"), "\(output)")
        for attempt in ["planted-node", "sysctl", "sysrq-trigger"] {
            #expect(output.contains("\(attempt): refused"), "\(attempt):\n\(output)")
        }
        try FileManager.default.removeItem(atPath: root)
    }

    @Test("a malformed id map is refused before anything runs")
    func malformedMap() throws {
        let root = try busyboxTree(owner: 0)
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        for ids in ["--ids=0:x", "--ids=5:0:10", "--ids=0:4294967295:1", "--ids=0:0:0"] {
            let result = try Command.runBlocking(executable, ["__strata-sandbox", ids, root, "touch /tmp/ran"])
            #expect(result.status == 125, "\(ids): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("--ids wants 0:OUTSIDE:COUNT"), "\(ids): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(root)/tmp/ran"))
        try FileManager.default.removeItem(atPath: root)
    }
}
