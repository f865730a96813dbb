import Foundation
import StrataArchive
import StrataCore
import StrataTestSupport
import Testing

/// Builds .debs byte by byte with Python's tarfile (which writes any member name, `..` included)
/// and a hand-written ar writer, so the layout is exactly what each test wants.
enum CraftedDeb {
    /// argv: output, data compression (gz|bz2|xz, with `-pax` for a pax-format tar), then members as `type:name[:link]` with
    /// type f (file, content = its name), d (directory), h (hard link), l (symlink).
    static let script = #"""
        import io, sys, tarfile
        out, comp, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
        comp, fmt = (comp[:-4], tarfile.PAX_FORMAT) if comp.endswith("-pax") else (comp, tarfile.GNU_FORMAT)
        def tar(members, comp, fmt=tarfile.GNU_FORMAT):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:" + comp, format=fmt) as t:
                for kind, name, link in members:
                    info = tarfile.TarInfo(name)
                    info.mtime, info.mode = 1700000000, 0o755 if kind == "d" else 0o644
                    info.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE, "h": tarfile.LNKTYPE, "l": tarfile.SYMTYPE}[kind]
                    info.linkname = link
                    data = name.encode() if kind == "f" else b""
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
            return buf.getvalue()
        def ar(members):
            out = b"!<arch>\n"
            for name, data in members:
                out += b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), 1700000000, 0, 0, b"100644", len(data))
                out += data + (b"\n" if len(data) % 2 else b"")
            return out
        members = [(s.split(":") + [""])[:3] for s in specs]
        control = tar([("d", "./", ""), ("f", "./control", "")], "gz")
        with open(out, "wb") as f:
            f.write(ar([("debian-binary", b"2.0\n"), ("control.tar.gz", control), ("data.tar." + comp, tar(members, comp, fmt))]))
        """#

    static func build(_ members: [String], compression: String = "gz") async throws -> String {
        let deb = try TemporaryDirectory.make(prefix: "crafted") + "/crafted.deb"
        try await Shell.run("python3", ["-c", script, deb, compression] + members)
        return deb
    }
}

@Suite("Refusing hostile and broken .deb files")
struct HostileDebTests {
    @Test(
        "a member path or hard link target climbing out of the root is refused, naming it",
        arguments: [
            ["f:../evil"], ["d:./", "f:./a/../../x"], ["f:./usr/../../../etc/passwd"],
            ["d:./", "f:./ok", "h:./bad:../../etc/shadow"],
        ])
    func climbing(members: [String]) async throws {
        let deb = try await CraftedDeb.build(members)
        let error = #expect(throws: StrataError.self) { _ = try ReadDeb.read(deb) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(deb) == true)
        #expect(error?.message.contains("data.tar.gz") == true)
        let culprit = try #require(members.last?.split(separator: ":").last)
        #expect(error?.message.contains(String(culprit)) == true, "\(error?.message ?? "")")
    }

    @Test("a leading '/', './' and doubled slashes are normalised away; bzip2 data.tar is read")
    func normalised() async throws {
        let deb = try await CraftedDeb.build(
            ["d:./", "d:/etc/", "f:/etc/abs", "f:./usr//lib///x", "l:./link:/etc/abs", "h:hard:/etc/abs"],
            compression: "bz2")
        let read = try ReadDeb.read(deb)
        #expect(read.entries.map(\.path) == ["", "etc", "etc/abs", "usr/lib/x", "link", "hard"])
        #expect(read.entries[4].kind == .symlink(target: "/etc/abs"))
        #expect(read.entries[5].kind == .hardlink(target: "etc/abs"))
        #expect(read.contents["etc/abs"] == SHA256Digest.of(Array("/etc/abs".utf8)))
        #expect(read.control["control"] == Array("./control".utf8))
    }

    @Test("UTF-8 member names and link targets are read as written", arguments: ["gz", "gz-pax"])
    func unicodeNames(format: String) async throws {
        let deb = try await CraftedDeb.build(["d:./", "f:./usr/share/café", "l:./etc/naïve:日本/ü"], compression: format)
        let read = try ReadDeb.read(deb)
        #expect(read.entries.map(\.path) == ["", "usr/share/café", "etc/naïve"])
        #expect(read.entries.last?.kind == .symlink(target: "日本/ü"))
    }

    @Test("a truncated .deb is an error naming the file", arguments: [0.02, 0.3, 0.6, 0.9, 0.999])
    func truncated(fraction: Double) async throws {
        let deb = try await HandmadeDeb.build(compression: "xz")
        var bytes = try FileReader.readAll(deb)
        bytes.removeLast(max(1, bytes.count - Int(Double(bytes.count) * fraction)))
        try Data(bytes).write(to: URL(fileURLWithPath: deb))
        let error = #expect(throws: StrataError.self) { _ = try ReadDeb.read(deb) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(deb) == true, "\(error?.message ?? "")")
    }

    @Test("a corrupted data.tar is an error", arguments: ["xz", "gzip", "zstd"])
    func corrupted(compression: String) async throws {
        let deb = try await HandmadeDeb.build(compression: compression)
        var bytes = try FileReader.readAll(deb)
        for offset in stride(from: bytes.count - 600, to: bytes.count - 100, by: 50) { bytes[offset] ^= 0x5a }
        try Data(bytes).write(to: URL(fileURLWithPath: deb))
        let error = #expect(throws: StrataError.self) { _ = try ReadDeb.read(deb) }
        #expect(error?.code == .invalidInput)
    }

    @Test("a file that is not a .deb, or has members out of order, is refused")
    func badLayout() async throws {
        let dir = try TemporaryDirectory.make(prefix: "badar")
        try Data("hello, not an ar archive\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/text.deb"))
        let notAr = #expect(throws: StrataError.self) { _ = try ReadDeb.read("\(dir)/text.deb") }
        #expect(notAr?.message.contains("\(dir)/text.deb") == true)

        try Data("2.0\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/debian-binary"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(dir)/data.tar"))
        try await Shell.run("ar", ["rc", "\(dir)/nocontrol.deb", "debian-binary", "data.tar"], directory: dir)
        let order = #expect(throws: StrataError.self) { _ = try ReadDeb.read("\(dir)/nocontrol.deb") }
        #expect(order?.message.contains("expected control.tar") == true, "\(order?.message ?? "")")

        let missing = #expect(throws: StrataError.self) { _ = try ReadDeb.read("\(dir)/absent.deb") }
        #expect(missing?.code == .io)
    }
}
