// RpmArchive on real packages built by rpmbuild at test time, every field cross-checked against
// what `rpm -qp` says about the same file: the header's files and their metadata, scriptlets and
// triggers (rendered as `rpm -q --scripts/--triggers/--filetriggers` prints them), and payload
// entries whose metadata must come from the header and whose content must match FILEDIGESTS.
import Foundation
import StrataArchive
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataRPM

/// A package using every header feature RpmArchive reads, and a subpackage with a lua
/// scriptlet and a program-only one (a package has one `%post`).
let demoSpec = """
    Name: demo
    Version: 1.2
    Release: 3
    Epoch: 4
    Summary: every header feature RpmArchive reads
    License: MIT
    BuildArch: noarch

    %description
    demo

    %package lua
    Summary: lua and program-only scriptlets
    %description lua
    lua

    %install
    mkdir -p %{buildroot}/usr/bin %{buildroot}/etc %{buildroot}/usr/share/doc/demo %{buildroot}/usr/lib/demo
    mkdir -p %{buildroot}/usr/share/locale/de %{buildroot}/usr/share/empty
    printf 'ping\\n' > %{buildroot}/usr/bin/ping2
    printf 'shared data\\n' > %{buildroot}/usr/lib/demo/a
    ln %{buildroot}/usr/lib/demo/a %{buildroot}/usr/lib/demo/b
    ln %{buildroot}/usr/lib/demo/a %{buildroot}/usr/lib/demo/c
    : > %{buildroot}/usr/lib/demo/empty1
    ln %{buildroot}/usr/lib/demo/empty1 %{buildroot}/usr/lib/demo/empty2
    printf 'x=1\\n' > %{buildroot}/etc/demo.conf
    printf 'doc\\n' > %{buildroot}/usr/share/doc/demo/README
    printf 'de\\n' > %{buildroot}/usr/share/locale/de/demo.mo
    ln -s ../lib/demo/a %{buildroot}/usr/bin/alink
    mkfifo %{buildroot}/usr/lib/demo/fifo
    touch %{buildroot}/etc/demo.log
    printf 'lua\\n' > %{buildroot}/usr/lib/demo/lua.txt

    %pre
    getent passwd demo >/dev/null || useradd -r -d /var/lib/demo demo
    %post
    echo post
    %posttrans
    echo posttrans
    %filetriggerin -- /usr/lib
    echo filetrigger
    %transfiletriggerin -P 2000 -- /usr/share /etc
    cat > /dev/null
    %triggerin -- other >= 1.0
    echo trigger

    %post lua -p <lua>
    print("lua post")
    %postun lua -p /sbin/ldconfig

    %files
    %attr(0750,nobody,nogroup) /usr/bin/ping2
    %caps(cap_net_raw=ep) /usr/lib/demo/a
    /usr/lib/demo/b
    /usr/lib/demo/c
    /usr/lib/demo/empty1
    /usr/lib/demo/empty2
    /usr/lib/demo/fifo
    %dir /usr/lib/demo
    %dir /usr/share/empty
    %config(noreplace) /etc/demo.conf
    %ghost /etc/demo.log
    %doc /usr/share/doc/demo/README
    %lang(de) /usr/share/locale/de/demo.mo
    /usr/bin/alink
    %dev(c,1,3) /usr/lib/demo/null0

    %files lua
    /usr/lib/demo/lua.txt

    """

/// The demo packages, built once for every test that reads them.
enum DemoPackages {
    static let built = Task { try await SpecBuild.build(demoSpec) }

    static func path(_ name: String) async throws -> String {
        try #require(try await built.value[name], "rpmbuild made no \(name)")
    }

    static var main: String { get async throws { try await path("demo-1.2-3.noarch") } }
    static var lua: String { get async throws { try await path("demo-lua-1.2-3.noarch") } }
}

/// `scriptlets` as `rpm -q --scripts` prints them (rpm's rpmpopt `--scripts` alias).
func renderScripts(_ scriptlets: [RpmScriptlet]) -> String {
    scriptlets.map { script in
        let using = script.interpreter.map { " \($0)" }.joined()
        guard let body = script.body else { return "\(script.kind.rawValue) program:\(using)\n" }
        return "\(script.kind.rawValue) scriptlet (using\(using)):\n\(body)\n"
    }.joined()
}

@Suite("Reading .rpm files: header through librpm, payload through libarchive", .timeLimit(.minutes(2)))
struct RpmArchiveTests {
    @Test("name, epoch, version, release and arch are rpm's")
    func identity() async throws {
        let path = try await DemoPackages.main
        let read = try ReadRpm.read(path)
        let header = try #require(read.header)
        let rpm = try await RpmQuery.run([
            "--qf", "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{NEVRA}", path,
        ])
        #expect(
            [
                header.name, header.epoch.map(String.init) ?? "(none)", header.version, header.release,
                header.architecture, header.nevra,
            ].joined(separator: "\t") == rpm)
    }

    @Test(
        "every file's metadata is what rpm -qp --qf prints", arguments: ["demo-1.2-3.noarch", "demo-lua-1.2-3.noarch"])
    func files(package: String) async throws {
        let path = try await DemoPackages.path(package)
        let header = try #require(try ReadRpm.read(path).header)
        let rows = try await RpmQuery.fileRows(path)
        let algorithm = try await RpmQuery.run(["--qf", "%{FILEDIGESTALGO}", path])
        try #require(rows.count == header.files.count)
        for (file, row) in zip(header.files, rows) {
            let ours = [
                file.path, String(file.mode, radix: 8), file.user, file.group, String(file.mtime), String(file.size),
                String(file.flags.rawValue), file.linkTarget ?? "", String(file.inode), file.digest?.hex ?? "",
                file.capabilities ?? "", file.lang ?? "", String(file.rdev),
            ]
            #expect(ours == row, "\(file.path)")
            if let digest = file.digest {
                #expect(RpmFile.Digest.Algorithm(pgpNumber: Int(algorithm) ?? 0) == digest.algorithm)
            }
        }
        if package == "demo-1.2-3.noarch" {
            // The features the spec asks for are really there, so the comparison above means something.
            let byPath = Dictionary(uniqueKeysWithValues: header.files.map { ($0.path, $0) })
            #expect(byPath["/usr/bin/ping2"]?.mode == 0o100750 && byPath["/usr/bin/ping2"]?.user == "nobody")
            #expect(byPath["/usr/lib/demo/a"]?.capabilities == "cap_net_raw=ep")
            #expect(byPath["/etc/demo.conf"]?.flags == [.config, .noReplace])
            #expect(byPath["/etc/demo.log"]?.flags == [.ghost])
            #expect(byPath["/usr/share/doc/demo/README"]?.flags == [.doc])
            #expect(byPath["/usr/bin/alink"]?.linkTarget == "../lib/demo/a")
            #expect(byPath["/usr/share/locale/de/demo.mo"]?.lang == "de")
            #expect(byPath["/usr/lib/demo/null0"]?.rdev == 0x0103)
            #expect(Set(["a", "b", "c"].compactMap { byPath["/usr/lib/demo/\($0)"]?.inode }).count == 1)
        }
    }

    @Test("scriptlets and triggers are what rpm -qp --scripts, --triggers and --filetriggers print")
    func scripts() async throws {
        for path in [try await DemoPackages.main, try await DemoPackages.lua] {
            let header = try #require(try ReadRpm.read(path).header)
            #expect(renderScripts(header.scriptlets) == (try await RpmQuery.run(["--scripts", path])))

            let triggers = header.triggers.map { trigger in
                let conditions = trigger.conditions.map { condition in
                    [condition.name, condition.relation, condition.version].compactMap { $0 }.joined(separator: " ")
                }
                return "\(trigger.kind.rawValue) scriptlet (using \(trigger.interpreter.joined(separator: " "))) -- "
                    + "\(conditions.joined(separator: ", "))\n\(trigger.body ?? "")\n"
            }.joined()
            #expect(triggers == (try await RpmQuery.run(["--triggers", path])))

            let fileTriggers = header.fileTriggers.map { trigger in
                "\(trigger.kind.rawValue) scriptlet (using \(trigger.interpreter.joined(separator: " "))) -- "
                    + "\(trigger.prefixes.joined(separator: ", "))\n\(trigger.body ?? "")\n"
            }.joined()
            #expect(fileTriggers == (try await RpmQuery.run(["--filetriggers", path])))

            let priorities = try await RpmQuery.run([
                "--qf", "[%{FILETRIGGERPRIORITIES}\\n][%{TRANSFILETRIGGERPRIORITIES}\\n]", path,
            ])
            #expect(header.fileTriggers.map { "\($0.priority)\n" }.joined() == priorities)
        }

        let main = try #require(try ReadRpm.read(try await DemoPackages.main).header)
        #expect(main.scriptlets.map(\.kind) == [.pre, .post, .posttrans])
        #expect(main.scriptlets.first?.body?.contains("useradd -r -d /var/lib/demo demo") == true)
        #expect(main.triggers.map(\.kind) == [.in])
        #expect(
            main.triggers.first?.conditions == [RpmTrigger.Condition(name: "other", relation: ">=", version: "1.0")])
        #expect(main.fileTriggers.map(\.kind) == [.filetriggerin, .transfiletriggerin])
        #expect(main.fileTriggers.map(\.priority) == [1_000_000, 2000])
        let lua = try #require(try ReadRpm.read(try await DemoPackages.lua).header)
        #expect(
            lua.scriptlets == [
                RpmScriptlet(kind: .post, interpreter: ["<lua>"], body: "print(\"lua post\")"),
                RpmScriptlet(kind: .postun, interpreter: ["/sbin/ldconfig"], body: nil),
            ])
    }

    @Test("entries take the header's metadata, and the content matches FILEDIGESTS")
    func entries() async throws {
        let read = try ReadRpm.read(try await DemoPackages.main)
        let header = try #require(read.header)
        let listed = header.files.filter { !$0.flags.contains(.ghost) }
        #expect(Set(read.entries.map { "/" + $0.path }) == Set(listed.map(\.path)))
        #expect(read.entries.count == listed.count)
        #expect(read.entry("etc/demo.log") == nil, "a %ghost is not in the payload")
        for file in listed {
            let entry = try #require(read.entry(String(file.path.dropFirst())))
            #expect(entry.mode == file.mode & 0o7777, "\(file.path)")
            #expect(entry.uname == file.user && entry.gname == file.group, "\(file.path)")
            #expect(entry.uid == 0 && entry.gid == 0)
            #expect(entry.mtime == file.mtime)
            switch entry.kind {
            case .file:
                #expect(file.mode & 0o170000 == 0o100000)
                #expect(entry.size == file.size)
                #expect(read.contents[entry.path] == file.digest?.hex, "\(file.path)")
            case .hardlink:
                #expect(file.mode & 0o170000 == 0o100000)
                #expect(entry.size == 0)
            case .directory: #expect(file.mode & 0o170000 == 0o040000)
            case .symlink(let target): #expect(target == file.linkTarget)
            case .fifo: #expect(file.mode & 0o170000 == 0o010000)
            case .characterDevice(let major, let minor):
                #expect(file.mode & 0o170000 == 0o020000)
                #expect(major << 8 | minor == file.rdev)
            case .blockDevice: Issue.record("no block device in the spec")
            }
        }
        #expect(read.entry("usr/bin/ping2")?.uname == "nobody")
        #expect(read.entry("usr/bin/ping2")?.mode == 0o750)
        #expect(read.texts["etc/demo.conf"] == "x=1\n")
    }

    @Test("a hard-link set is reported data first: the data-carrying path as .file, the others linking to it")
    func hardlinks() async throws {
        let path = try await DemoPackages.main
        let original = try ReadRpm.read(path)
        // Also with the data-carrying link moved to the front of the payload, then to the middle.
        let front = try ReadRpm.read(try await CraftedRpm.rewrite(path, ["first:./usr/lib/demo/c"]))
        let middle = try ReadRpm.read(
            try await CraftedRpm.rewrite(
                path, ["first:./usr/lib/demo/b", "first:./usr/lib/demo/c", "first:./usr/lib/demo/a"]))
        for read in [original, front, middle] {
            let paths = read.entries.map(\.path)
            let c = try #require(paths.firstIndex(of: "usr/lib/demo/c"))
            #expect(read.entries[c].kind == .file)
            #expect(read.entries[c].size == 12)
            #expect(read.texts["usr/lib/demo/c"] == "shared data\n")
            for other in ["usr/lib/demo/a", "usr/lib/demo/b"] {
                let i = try #require(paths.firstIndex(of: other))
                #expect(i > c, "\(other) comes after the path it links to")
                #expect(read.entries[i].kind == .hardlink(target: "usr/lib/demo/c"))
            }
            // The set's inode gets the capabilities one of its paths lists.
            let caps = try FileCapabilities(text: "cap_net_raw=ep").xattr
            #expect(read.entries[c].xattrs == ["security.capability": caps])

            // An empty set: every link has size 0, so the last one rpm wrote is the file.
            let e1 = try #require(paths.firstIndex(of: "usr/lib/demo/empty1"))
            let e2 = try #require(paths.firstIndex(of: "usr/lib/demo/empty2"))
            #expect(read.entries[min(e1, e2)].kind == .file)
            #expect(read.entries[max(e1, e2)].kind == .hardlink(target: read.entries[min(e1, e2)].path))
        }
        #expect(front.entries.first?.path == "usr/lib/demo/c", "reported as soon as its data arrives")
    }

    @Test(
        "every payload compression rpm writes reads as the gzip one (rpm's default here) does",
        arguments: ["w6.xzdio", "w19.zstdio", "w9.bzdio", "w9.lzdio", "w0.ufdio"])
    func compressions(payload: String) async throws {
        let built = try await SpecBuild.build(demoSpec, defines: ["_binary_payload": payload])
        let path = try #require(built["demo-1.2-3.noarch"])
        let compressor = try await RpmQuery.run(["--qf", "%{PAYLOADCOMPRESSOR}", path])
        #expect(payload == "w0.ufdio" || payload.contains(compressor.prefix(2)))
        let read = try ReadRpm.read(path)
        let main = try await DemoPackages.main
        #expect(try await RpmQuery.run(["--qf", "%{PAYLOADCOMPRESSOR}", main]) == "gzip")
        let reference = try ReadRpm.read(main)
        #expect(read.entries.map(\.path) == reference.entries.map(\.path))
        #expect(read.contents == reference.contents)
    }

    @Test("readHeader gives the header read gives")
    func headerOnly() async throws {
        let path = try await DemoPackages.main
        #expect(try ReadRpm.header(path) == (try ReadRpm.read(path).header))
    }

    @Test("an RpmHeader survives JSON")
    func codable() async throws {
        let header = try #require(try ReadRpm.read(try await DemoPackages.main).header)
        let decoded = try JSONDecoder().decode(RpmHeader.self, from: JSONEncoder().encode(header))
        #expect(decoded == header)
    }
}
