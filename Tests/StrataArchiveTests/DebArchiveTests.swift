import Foundation
import StrataArchive
import StrataCore
import StrataTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A package built by hand with `dpkg-deb --build`: a setuid binary, a hard link to it, a
/// relative and an absolute symlink, an empty directory, a conffile and a postinst.
enum HandmadeDeb {
    static let files: [String: (content: String, mode: mode_t)] = [
        "usr/bin/tool": ("#!/bin/sh\necho tool\n", 0o4755),
        "etc/handmade.conf": ("setting = 1\n", 0o644),
        "usr/share/doc/handmade/README": (String(repeating: "handmade readme line\n", count: 4000), 0o644),
    ]
    static let control =
        "Package: handmade\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: T <t@strata.invalid>\nDescription: hand made\n"

    /// Builds the package with data.tar compressed by `compression` (`dpkg-deb -Z`).
    static func build(compression: String) async throws -> String {
        let dir = try TemporaryDirectory.make(prefix: "handdeb")
        let stage = "\(dir)/stage"
        let fm = FileManager.default
        for sub in ["DEBIAN", "usr/bin", "usr/lib", "etc", "usr/share/doc/handmade", "var/lib/handmade"] {
            try fm.createDirectory(atPath: "\(stage)/\(sub)", withIntermediateDirectories: true)
        }
        try Data(control.utf8).write(to: URL(fileURLWithPath: "\(stage)/DEBIAN/control"))
        try Data("/etc/handmade.conf\n".utf8).write(to: URL(fileURLWithPath: "\(stage)/DEBIAN/conffiles"))
        try Data("#!/bin/sh\nset -e\necho configured\n".utf8).write(
            to: URL(fileURLWithPath: "\(stage)/DEBIAN/postinst"))
        try posix("chmod postinst", chmod("\(stage)/DEBIAN/postinst", 0o755))
        for (path, file) in files {
            try Data(file.content.utf8).write(to: URL(fileURLWithPath: "\(stage)/\(path)"))
            try posix("chmod \(path)", chmod("\(stage)/\(path)", file.mode))
        }
        try posix("link", link("\(stage)/usr/bin/tool", "\(stage)/usr/bin/tool-again"))
        try posix("symlink", symlink("tool", "\(stage)/usr/bin/tool-link"))
        try posix("symlink", symlink("/usr/bin/tool", "\(stage)/usr/lib/tool-absolute"))
        try posix("chmod", chmod("\(stage)/var/lib/handmade", 0o700))
        let deb = "\(dir)/handmade_1.0-1_amd64.deb"
        try await Shell.run(
            "dpkg-deb", ["--root-owner-group", "-Z\(compression)", "--build", stage, deb],
            environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        return deb
    }
}

@Suite("Reading .deb packages without unpacking them")
struct DebArchiveTests {
    /// Checks everything DebArchive reports against dpkg-deb's own view of `deb`.
    func crossCheck(_ deb: String) async throws -> ReadDeb {
        let read = try ReadDeb.read(deb)

        let listing = try await Shell.run("dpkg-deb", ["-c", deb]).output
        let expected = ListedEntry.parse(listing, bsdtar: false)
        let actual = read.entries.map { entry in
            ListedEntry(entry, owner: "\(entry.uname ?? String(entry.uid))/\(entry.gname ?? String(entry.gid))")
        }
        #expect(actual == expected)
        #expect(!actual.isEmpty)

        let dir = try TemporaryDirectory.make(prefix: "debx")
        try await Shell.run("dpkg-deb", ["-x", deb, "\(dir)/data"])
        let extracted = try hashRegularFiles(under: "\(dir)/data")
        let hardlinks = read.entries.compactMap { entry -> (String, String)? in
            if case .hardlink(let target) = entry.kind { return (entry.path, target) }
            return nil
        }
        var streamed = read.contents
        for (path, target) in hardlinks { streamed[path] = streamed[target] }
        #expect(streamed == extracted)
        for entry in read.entries where entry.kind == .file {
            #expect(entry.size == UInt64(try FileReader.readAll("\(dir)/data/\(entry.path)").count))
        }

        try await Shell.run("dpkg-deb", ["-e", deb, "\(dir)/control"])
        #expect(read.control == (try filesIn("\(dir)/control")))
        return read
    }

    @Test("a fixture repository's package matches dpkg-deb -c, -x and -e")
    func fixturePackage() async throws {
        let spec = DebPackageSpec(
            name: "hello", version: "2:1.0-3",
            files: [
                "/usr/bin/hello": "#!/bin/sh\necho hello\n", "/etc/hello.conf": "greeting=hi\n",
                "/usr/share/hello/data": String(repeating: "x", count: 100_000),
            ],
            conffiles: ["/etc/hello.conf"],
            maintainerScripts: ["postinst": "#!/bin/sh\necho post\n", "prerm": "#!/bin/sh\necho pre\n"])
        let repo = try await DebFixtureRepo.build(
            packages: [spec], suites: [DebSuite(name: "stable", codename: "s")], key: nil)
        let built = try #require(repo.package("hello"))
        let read = try await crossCheck("\(repo.root)/\(built.path)")
        // The fixture writes md5sums as dh_md5sums would; these are all the members.
        #expect(Set(read.control.keys) == ["control", "md5sums", "conffiles", "postinst", "prerm"])
        #expect(read.control["conffiles"] == Array("/etc/hello.conf\n".utf8))
        #expect(read.entries.first?.path == "")
        let hello = try #require(read.entries.first { $0.path == "usr/bin/hello" })
        #expect(hello.kind == .file && hello.mode == 0o755 && hello.uid == 0 && hello.mtime == 1_700_000_000)
        #expect(read.contents["usr/bin/hello"] == SHA256Digest.of(Array("#!/bin/sh\necho hello\n".utf8)))
    }

    @Test(
        "a hand-made package with links, setuid and directories matches dpkg-deb",
        arguments: ["xz", "zstd", "gzip", "none"])
    func handmadePackage(compression: String) async throws {
        let deb = try await HandmadeDeb.build(compression: compression)
        let members = try await Shell.run("ar", ["t", deb]).output
        #expect(
            members.contains(
                "data.tar" + ["xz": ".xz", "zstd": ".zst", "gzip": ".gz", "none": ""][compression, default: "?"] + "\n")
        )
        let read = try await crossCheck(deb)
        let byPath = Dictionary(read.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byPath["usr/bin/tool"]?.mode == 0o4755)
        #expect(byPath["usr/bin/tool-link"]?.kind == .symlink(target: "tool"))
        #expect(byPath["usr/lib/tool-absolute"]?.kind == .symlink(target: "/usr/bin/tool"))
        #expect(byPath["var/lib/handmade"]?.kind == .directory && byPath["var/lib/handmade"]?.mode == 0o700)
        let links = [byPath["usr/bin/tool"]?.kind, byPath["usr/bin/tool-again"]?.kind]
        #expect(
            links.contains(.hardlink(target: "usr/bin/tool")) || links.contains(.hardlink(target: "usr/bin/tool-again"))
        )
        #expect(read.control["postinst"] == Array("#!/bin/sh\nset -e\necho configured\n".utf8))
    }

    @Test("content is streamed in pieces, and may be left unread")
    func streaming() async throws {
        let deb = try await HandmadeDeb.build(compression: "xz")
        var chunks = 0
        var readme = [UInt8]()
        var seen: [String] = []
        try DebArchive.read(deb, control: { _ in }) { entry, content in
            seen.append(entry.path)
            guard entry.path == "usr/share/doc/handmade/README" else { return }
            try content.forEachChunk { chunk in
                chunks += 1
                readme.append(contentsOf: chunk)
            }
            #expect(throws: StrataError.self) { try content.forEachChunk { _ in } }
        }
        #expect(chunks >= 1)
        #expect(readme == Array((HandmadeDeb.files["usr/share/doc/handmade/README"]?.content ?? "").utf8))
        #expect(seen.contains("var/lib/handmade") && seen.contains("usr/bin/tool-link"))
    }

    @Test("an error thrown by the data callback propagates unchanged")
    func callbackError() async throws {
        let deb = try await HandmadeDeb.build(compression: "gzip")
        let error = #expect(throws: StrataError.self) {
            try DebArchive.read(deb, control: { _ in }) { _, _ in throw StrataError(.unsatisfiable, "stop here") }
        }
        #expect(error?.code == .unsatisfiable && error?.message == "stop here")
    }
}
