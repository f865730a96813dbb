import Foundation
import StrataArchive
import StrataCore
import StrataTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A small root filesystem exercising every kind TarWriter writes. Needs root (chown, setcap).
enum SampleTree {
    static let clamp: Int64 = 1_700_000_000
    static let contents: [String: String] = [
        "etc/config": "key = value\n",
        "etc/owned": "owned by 1000:1001\n",
        "usr/bin/tool": String(repeating: "binary bytes ", count: 5000),
        "usr/bin/ping": "pretend ping\n",
    ]

    /// The listing `bsdtar -tv` must show for an export (owners numeric, mtimes clamped).
    static let expected: [ListedEntry] = [
        .init(path: "", type: "d", mode: 0o755, owner: "0/0"),
        .init(path: "etc", type: "d", mode: 0o755, owner: "0/0"),
        .init(path: "etc/config", type: "-", mode: 0o644, owner: "0/0"),
        .init(path: "etc/owned", type: "-", mode: 0o640, owner: "1000/1001"),
        .init(path: "run", type: "d", mode: 0o755, owner: "0/0"),
        .init(path: "run/initctl", type: "p", mode: 0o600, owner: "0/0"),
        .init(path: "tmp", type: "d", mode: 0o1777, owner: "0/0"),
        .init(path: "usr", type: "d", mode: 0o755, owner: "0/0"),
        .init(path: "usr/bin", type: "d", mode: 0o755, owner: "0/0"),
        .init(path: "usr/bin/ping", type: "-", mode: 0o755, owner: "0/0"),
        .init(path: "usr/bin/tool", type: "-", mode: 0o4755, owner: "0/0"),
        .init(path: "usr/bin/tool-again", type: "h", mode: 0o4755, owner: "0/0", link: "usr/bin/tool"),
        .init(path: "usr/lib", type: "d", mode: 0o755, owner: "0/0"),
        .init(path: "usr/lib/tool", type: "l", mode: 0o777, owner: "0/0", link: "../bin/tool"),
    ]

    static func make(in parent: String, name: String = "root") async throws -> String {
        let root = "\(parent)/\(name)"
        for dir in ["etc", "run", "tmp", "usr/bin", "usr/lib"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        for (path, text) in contents { try Data(text.utf8).write(to: URL(fileURLWithPath: "\(root)/\(path)")) }
        for dir in ["", "/etc", "/run", "/usr", "/usr/bin", "/usr/lib"] { try posix("chmod", chmod(root + dir, 0o755)) }
        try posix("chmod", chmod("\(root)/tmp", 0o1777))
        try posix("chmod", chmod("\(root)/etc/config", 0o644))
        try posix("chmod", chmod("\(root)/etc/owned", 0o640))
        try posix("chown", chown("\(root)/etc/owned", 1000, 1001))
        try posix("chmod", chmod("\(root)/usr/bin/ping", 0o755))
        try posix("chmod", chmod("\(root)/usr/bin/tool", 0o4755))
        try posix("link", link("\(root)/usr/bin/tool", "\(root)/usr/bin/tool-again"))
        try posix("symlink", symlink("../bin/tool", "\(root)/usr/lib/tool"))
        try posix("mkfifo", mkfifo("\(root)/run/initctl", 0o600))
        try posix("chmod", chmod("\(root)/run/initctl", 0o600))
        try await Shell.run("setcap", ["cap_net_raw+ep", "\(root)/usr/bin/ping"])
        return root
    }

    /// Sets every mtime under `root` (symlinks themselves included) to `seconds`.
    static func touchAll(_ root: String, to seconds: Int64) async throws {
        try await Shell.run("find", [root, "-exec", "touch", "-h", "-d", "@\(seconds)", "{}", "+"])
    }
}

@Suite("Writing deterministic tar archives", .enabled(if: isRoot, "chown and setcap need root"))
struct TarWriterTests {
    @Test("an exported tree lists as bsdtar sees it and extracts back to the same tree")
    func exportAndExtract() async throws {
        let dir = try TemporaryDirectory.make(prefix: "tarw")
        let root = try await SampleTree.make(in: dir)
        let tar = "\(dir)/out.tar"
        try TarWriter.exportDirectory(root, to: tar, compression: .none, clampMtime: SampleTree.clamp)

        let listing = try await Shell.run("bsdtar", ["-tvf", tar]).output
        #expect(ListedEntry.parse(listing, bsdtar: true) == SampleTree.expected)
        let names = try await Shell.run("bsdtar", ["-tf", tar]).output.split(separator: "\n")
        #expect(names.first == "./" && names.contains("usr/bin/") && names.contains("usr/bin/tool"))

        let out = "\(dir)/extracted"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try await Shell.run("bsdtar", ["--xattrs", "-xpf", tar, "-C", out])
        #expect(try hashRegularFiles(under: out) == (try hashRegularFiles(under: root)))
        for path in SampleTree.contents.keys {
            #expect(try FileReader.readAll("\(out)/\(path)") == Array((SampleTree.contents[path] ?? "").utf8))
        }
        var tool = stat()
        var again = stat()
        var owned = stat()
        var fifo = stat()
        try posix("stat", lstat("\(out)/usr/bin/tool", &tool))
        try posix("stat", lstat("\(out)/usr/bin/tool-again", &again))
        try posix("stat", lstat("\(out)/etc/owned", &owned))
        try posix("stat", lstat("\(out)/run/initctl", &fifo))
        #expect(tool.st_ino == again.st_ino && tool.st_nlink == 2)
        #expect(tool.st_mode & 0o7777 == 0o4755)
        #expect(owned.st_uid == 1000 && owned.st_gid == 1001 && owned.st_mode & 0o7777 == 0o640)
        #expect(fifo.st_mode & S_IFMT == S_IFIFO)
        #expect(tool.st_mtim.tv_sec == Int(SampleTree.clamp))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(out)/usr/lib/tool") == "../bin/tool")
        let caps = try await Shell.run("getcap", ["\(out)/usr/bin/ping"]).output
        #expect(caps.contains("cap_net_raw=ep"), "getcap: \(caps)")
        let noCaps = try await Shell.run("getcap", ["\(out)/usr/bin/tool"]).output
        #expect(!noCaps.contains("cap_"))
    }

    @Test(
        "the same tree gives byte-identical output at another time and another path", arguments: TarCompression.allCases
    )
    func deterministic(compression: TarCompression) async throws {
        let dir = try TemporaryDirectory.make(prefix: "tard")
        let first = try await SampleTree.make(in: dir, name: "first")
        try TarWriter.exportDirectory(first, to: "\(dir)/a", compression: compression, clampMtime: SampleTree.clamp)

        try await SampleTree.touchAll(first, to: SampleTree.clamp + 86_400 * 365)
        try TarWriter.exportDirectory(first, to: "\(dir)/b", compression: compression, clampMtime: SampleTree.clamp)
        let second = try await SampleTree.make(in: dir, name: "another-store-path-entirely")
        try TarWriter.exportDirectory(second, to: "\(dir)/c", compression: compression, clampMtime: SampleTree.clamp)

        let a = try FileReader.readAll("\(dir)/a")
        #expect(a == (try FileReader.readAll("\(dir)/b")))
        #expect(a == (try FileReader.readAll("\(dir)/c")))

        // Without the clamp the new mtimes show, so the comparison above can fail.
        try TarWriter.exportDirectory(first, to: "\(dir)/d", compression: compression, clampMtime: nil)
        #expect(a != (try FileReader.readAll("\(dir)/d")))

        let magic: [UInt8] =
            switch compression {
            case .none: Array("ustar".utf8)
            case .gzip: [0x1f, 0x8b, 0x08]
            case .zstd: [0x28, 0xb5, 0x2f, 0xfd]
            case .xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]
            }
        #expect(compression == .none ? Array(a[257..<262]) == magic : a.starts(with: magic))
        if compression == .gzip { #expect(a[4..<8].allSatisfy { $0 == 0 }, "gzip header carries a timestamp") }
        let plain = try await Shell.run("bsdtar", ["-xOf", "\(dir)/a", "etc/config"]).output
        #expect(plain == SampleTree.contents["etc/config"])
    }

    @Test("no path of the exporting host reaches the archive")
    func noHostPaths() async throws {
        let dir = try TemporaryDirectory.make(prefix: "tarleak")
        let root = try await SampleTree.make(in: dir, name: "store-abcdef0123456789")
        try TarWriter.exportDirectory(root, to: "\(dir)/out.tar", compression: .none, clampMtime: SampleTree.clamp)
        let bytes = try FileReader.readAll("\(dir)/out.tar")
        let needle = Array("store-abcdef".utf8)
        let leaked = (0...(bytes.count - needle.count)).contains {
            bytes[$0..<($0 + needle.count)].elementsEqual(needle)
        }
        #expect(!leaked)
        #expect(!String(decoding: bytes, as: UTF8.self).contains(dir))
    }

    @Test("entries round-trip: names, devices, xattrs and uname/gname as given")
    func explicitEntries() async throws {
        let dir = try TemporaryDirectory.make(prefix: "tarent")
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/hello"))
        let tar = "\(dir)/out.tar.gz"
        let writer = try TarWriter(path: tar, compression: .gzip)
        let capability: [UInt8] = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let entries = [
            ArchiveEntry(path: "", kind: .directory, mode: 0o755, uname: "root", gname: "root", mtime: 5),
            ArchiveEntry(path: "dev", kind: .directory, mode: 0o755, mtime: 5),
            ArchiveEntry(path: "dev/null", kind: .characterDevice(major: 1, minor: 3), mode: 0o666, mtime: 5),
            ArchiveEntry(path: "dev/loop0", kind: .blockDevice(major: 7, minor: 0), mode: 0o660, gid: 6, mtime: 5),
            ArchiveEntry(
                path: "hello", kind: .file, mode: 0o2755, uid: 42, gid: 43, uname: "daemon", gname: "staff", mtime: 7,
                size: 6, xattrs: ["security.capability": capability, "user.note": Array("n".utf8)]),
        ]
        for entry in entries { try writer.add(entry, contentsOf: entry.kind == .file ? "\(dir)/hello" : nil) }
        try writer.finish()

        let listing = ListedEntry.parse(try await Shell.run("bsdtar", ["-tvf", tar]).output, bsdtar: true)
        #expect(listing.map(\.type) == ["d", "d", "c", "b", "-"])
        #expect(listing.map(\.owner) == ["root/root", "0/0", "0/0", "0/6", "daemon/staff"])
        #expect(listing.last?.mode == 0o2755)
        let verbose = try await Shell.run("bsdtar", ["-tvvf", tar]).output
        #expect(verbose.contains("1,3") && verbose.contains("7,0"), "\(verbose)")
        let pax = try await Shell.run("python3", ["-c", Self.paxDump, tar]).output
        #expect(
            pax.contains(
                "hello SCHILY.xattr.security.capability=\(capability.map { String(format: "%02x", $0) }.joined())"))
        #expect(pax.contains("hello SCHILY.xattr.user.note=6e"))
        // Only the SCHILY form: GNU tar warns about every LIBARCHIVE.xattr.* record it meets.
        #expect(!pax.contains("LIBARCHIVE."), "\(pax)")
        let gnu = try await Shell.run("tar", ["--xattrs", "-tvzf", tar])
        #expect(gnu.errorOutput.isEmpty, "GNU tar: \(gnu.errorOutput)")
    }

    @Test("a full disk is named as such in the error", .enabled(if: geteuid() == 0, "needs root to mount a small tmpfs"))
    func diskFull() async throws {
        let dir = try TemporaryDirectory.make(prefix: "tarfull")
        try FileManager.default.createDirectory(atPath: "\(dir)/small", withIntermediateDirectories: true)
        try await Shell.run("mount", ["-t", "tmpfs", "-o", "size=64k", "strata-test", "\(dir)/small"])
        defer { umount2("\(dir)/small", Int32(MNT_DETACH)) }
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: "\(dir)/big"))
        let error = #expect(throws: StrataError.self) {
            let writer = try TarWriter(path: "\(dir)/small/out.tar", compression: .none)
            try writer.add(
                ArchiveEntry(path: "big", kind: .file, mode: 0o644, mtime: 0, size: 1 << 20), contentsOf: "\(dir)/big")
            try writer.finish()
        }
        #expect(error?.message.contains("No space left on device") == true, "\(error?.message ?? "")")
    }

    @Test("non-ASCII names are written as UTF-8 whatever the process locale")
    func unicodeNames() async throws {
        let dir = try TemporaryDirectory.make(prefix: "tarutf")
        let names = ["usr/share/doc/café", "etc/naïve-ü-日本", String(repeating: "長い名前/", count: 30) + "end"]
        for compression in [TarCompression.none, .gzip] {  // Python 3.11 reads no zstd
            let tar = "\(dir)/out\(compression.fileExtension)"
            let writer = try TarWriter(path: tar, compression: compression)
            for name in names {
                try writer.add(
                    ArchiveEntry(path: name, kind: .symlink(target: "→ \(name)"), mode: 0o777, mtime: 1),
                    contentsOf: nil)
            }
            try writer.finish()
            let listed = try await Shell.run(
                "python3",
                [
                    "-c", "import sys, tarfile\nfor m in tarfile.open(sys.argv[1]): print(m.name + '\\t' + m.linkname)",
                    tar,
                ],
                environment: ["PYTHONIOENCODING": "utf-8"]
            ).output
            #expect(listed == names.map { "\($0)\t→ \($0)\n" }.joined())
        }
    }

    @Test("a regular file whose length differs from its entry is refused")
    func sizeMismatch() throws {
        let dir = try TemporaryDirectory.make(prefix: "tarsize")
        try Data("12345".utf8).write(to: URL(fileURLWithPath: "\(dir)/five"))
        let writer = try TarWriter(path: "\(dir)/out.tar", compression: .none)
        #expect(throws: StrataError.self) {
            try writer.add(
                ArchiveEntry(path: "x", kind: .file, mode: 0o644, mtime: 0, size: 4), contentsOf: "\(dir)/five")
        }
        let fresh = try TarWriter(path: "\(dir)/out2.tar", compression: .none)
        #expect(throws: StrataError.self) {
            try fresh.add(
                ArchiveEntry(path: "x", kind: .file, mode: 0o644, mtime: 0, size: 6), contentsOf: "\(dir)/five")
        }
        #expect(throws: StrataError.self) {
            try fresh.add(ArchiveEntry(path: "../x", kind: .directory, mode: 0o755, mtime: 0), contentsOf: nil)
        }
    }

    /// Prints each pax record `name key=hexvalue` with Python's tarfile (independent of libarchive).
    static let paxDump = #"""
        import sys, tarfile
        with tarfile.open(sys.argv[1], encoding="utf-8", errors="surrogateescape") as t:
            for m in t:
                for k, v in m.pax_headers.items():
                    print(m.name, k + "=" + v.encode("utf-8", "surrogateescape").hex())
        """#
}
