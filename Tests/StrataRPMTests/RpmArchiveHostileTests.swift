// RpmArchive on hostile and broken packages: the demo package with its payload rewritten by
// CraftedRpm (every digest made consistent again, so only the structural checks stand between
// the payload and the tree), flipped bytes anywhere in header and payload, truncation, and files
// that are not rpms at all. Each must be refused with the package (and the path) named, never
// crash, never report an entry outside the header's file list.
import Foundation
import StrataArchive
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataRPM

/// One copy of a package with a byte flipped in place, offset after offset.
enum FlippedCopy {
    /// Calls `body` with a copy of `path` that differs from it in the byte at each offset.
    static func each(of path: String, at offsets: [Int], _ body: (Int, String) throws -> Void) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try TemporaryDirectory.make(prefix: "flipped") + "/flipped.rpm"
        try original.write(to: URL(fileURLWithPath: file))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        for offset in offsets {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [original[offset] ^ 0x20])
            try body(offset, file)
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [original[offset]])
        }
    }
}

@Suite("Refusing hostile and broken .rpm files", .timeLimit(.minutes(2)))
struct RpmArchiveHostileTests {
    /// (operations, words the message must contain).
    static let disagreements: [([String], [String])] = [
        (["rename:./usr/bin/ping2:../ping2"], ["'../ping2'", "contains '..'"]),
        (["rename:./usr/bin/ping2:./usr/../../etc/ping2"], ["'./usr/../../etc/ping2'", "contains '..'"]),
        (["rename:./usr/bin/ping2:/usr/bin/ping2"], ["'/usr/bin/ping2'", "is absolute"]),
        (["rename:./usr/bin/ping2:.//usr/bin/ping2"], ["'.//usr/bin/ping2'", "is absolute"]),
        (["add:./usr/bin/extra:100755:evil"], ["'./usr/bin/extra'", "not in the header's file list"]),
        (
            ["add:./etc/demo.log:100644:not a ghost after all", "drop:./etc/demo.conf"],
            ["'/etc/demo.conf'", "not in the payload"]
        ),
        (["drop:./etc/demo.conf"], ["'/etc/demo.conf'", "in the header but not in the payload"]),
        (["drop:./usr/lib/demo/b"], ["'/usr/lib/demo/b'", "not in the payload"]),
        (["dup:./etc/demo.conf"], ["'/etc/demo.conf' twice"]),
        (["mode:./usr/bin/ping2:040755"], ["'/usr/bin/ping2' as a directory", "the header says a regular file"]),
        (["mode:./usr/lib/demo:0100644"], ["'/usr/lib/demo' as a regular file", "the header says a directory"]),
        (["mode:./usr/bin/alink:0100644"], ["'/usr/bin/alink' as a regular file", "a symlink"]),
        (["data:./etc/demo.conf:x=100\n"], ["6 bytes for '/etc/demo.conf'", "the header says 4"]),
        (
            ["data:./usr/bin/alink:/etc/shadow"],
            ["symlink '/usr/bin/alink' points to '/etc/shadow'", "'../lib/demo/a'"]
        ),
        (
            ["data:./usr/lib/demo/a:shared data\n"],
            ["hard link '/usr/lib/demo/c'", "carries data again after '/usr/lib/demo/a'"]
        ),
    ]

    @Test("a payload that disagrees with its header is refused, naming the package and path", arguments: disagreements)
    func structural(operations: [String], words: [String]) async throws {
        let crafted = try await CraftedRpm.rewrite(try await DemoPackages.main, operations)
        var reported: [String] = []
        let error = refusal {
            try RpmArchive.read(crafted, what: "demo-4:1.2-3.noarch", header: { _ in }) { entry, _ in
                reported.append(entry.path)
            }
        }
        let refused = try #require(error, "\(operations) was accepted")
        #expect(refused.code == .invalidInput)
        #expect(refused.message.hasPrefix("demo-4:1.2-3.noarch: "), "\(refused.message)")
        for word in words { #expect(refused.message.contains(word), "\(refused.message)") }
        let header = try ReadRpm.header(crafted)
        let listed = Set(header.files.map { String($0.path.dropFirst()) })
        #expect(reported.allSatisfy(listed.contains), "only header paths are ever reported: \(reported)")
    }

    @Test("the rewritten packages are otherwise sound: an identity rewrite reads like the original")
    func identityRewrite() async throws {
        let path = try await DemoPackages.main
        let same = try ReadRpm.read(try await CraftedRpm.rewrite(path, []))
        let original = try ReadRpm.read(path)
        #expect(same.entries == original.entries)
        #expect(same.contents == original.contents)
    }

    @Test("a payload whose SHA-256 is not the header's is refused after it is read")
    func payloadDigest() async throws {
        let path = try await DemoPackages.main
        // The same structure with one file's content changed, the payload digest left alone.
        let crafted = try await CraftedRpm.rewrite(path, ["data:./etc/demo.conf:x=2\n", "keep-payload-digest"])
        let error = try #require(refusal { _ = try ReadRpm.read(crafted, what: "demo-package") })
        #expect(error.code == .verificationFailed)
        #expect(error.message.contains("demo-package: payload digest mismatch"), "\(error.message)")
    }

    @Test("a flipped byte in the header or payload is refused with librpm's or libarchive's words, never a crash")
    func flippedBytes() async throws {
        let path = try await DemoPackages.main
        let layout = try await CraftedRpm.layout(path)
        // Every 7th byte of the header and every byte of the payload.
        let offsets =
            Array(stride(from: layout.header, to: layout.payload, by: 7)) + Array(layout.payload..<layout.size)
        var regions: Set<String> = []
        try FlippedCopy.each(of: path, at: offsets) { offset, file in
            let error = try #require(refusal { _ = try ReadRpm.read(file, what: "demo-package") }, "offset \(offset)")
            #expect(error.code == .invalidInput || error.code == .verificationFailed, "offset \(offset): \(error)")
            #expect(error.message.hasPrefix("demo-package: "), "offset \(offset): \(error.message)")
            if offset < layout.payload {
                regions.insert("header")
                #expect(error.message.contains("header") || error.message.contains("rpm"), "\(error.message)")
            } else {
                regions.insert("payload")
                #expect(error.message.contains("payload"), "\(error.message)")
            }
        }
        #expect(regions == ["header", "payload"])
    }

    @Test("a flipped byte in the lead or signature either changes nothing or is refused")
    func flippedLead() async throws {
        let path = try await DemoPackages.main
        let reference = try ReadRpm.read(path)
        let layout = try await CraftedRpm.layout(path)
        var refused = 0
        // Every byte of the lead, every 7th of the signature.
        try FlippedCopy.each(of: path, at: Array(0..<96) + Array(stride(from: 96, to: layout.header, by: 7))) {
            offset, file in
            do {
                let read = try ReadRpm.read(file, what: "demo-package")
                // Bytes nothing checks (the lead's name, the signature's padding) change nothing we report.
                #expect(read.entries == reference.entries && read.header == reference.header, "offset \(offset)")
            } catch let error as StrataError {
                refused += 1
                #expect(error.message.hasPrefix("demo-package: "), "offset \(offset): \(error.message)")
            }
        }
        #expect(refused > 0, "the lead's magic is checked")
    }

    @Test("a truncated package is refused", arguments: [0.2, 0.5, 0.9, 0.999])
    func truncated(fraction: Double) async throws {
        let path = try await DemoPackages.main
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try TemporaryDirectory.make(prefix: "truncated") + "/truncated.rpm"
        try original.prefix(Int(Double(original.count) * fraction)).write(to: URL(fileURLWithPath: file))
        let error = try #require(refusal { _ = try ReadRpm.read(file, what: "demo-package") })
        #expect(error.message.hasPrefix("demo-package: "), "\(error.message)")
        #expect(error.code == .invalidInput || error.code == .verificationFailed)
    }

    @Test(
        "a file that is not an rpm is refused in librpm's words",
        arguments: ["", "hello, world\n", "!<arch>\ndebian-binary   "])
    func notAnRpm(content: String) async throws {
        let file = try TemporaryDirectory.make(prefix: "not-rpm") + "/not.rpm"
        try Data(content.utf8).write(to: URL(fileURLWithPath: file))
        let error = try #require(refusal { _ = try ReadRpm.read(file, what: "not-a-package") })
        #expect(error.code == .invalidInput)
        #expect(error.message.hasPrefix("not-a-package: not an rpm package"), "\(error.message)")
    }

    @Test("a missing file is an i/o error naming it")
    func missing() {
        let error = refusal { _ = try ReadRpm.read("/nonexistent/x.rpm", what: "x") }
        #expect(error?.code == .io)
        #expect(error?.message.contains("/nonexistent/x.rpm") == true)
    }

    @Test("payload paths are normalised, and refused when they could climb out or contain NUL")
    func normalise() throws {
        #expect(try PayloadMatcher.normalise("./usr/bin/env", what: "pkg") == "usr/bin/env")
        #expect(try PayloadMatcher.normalise("./usr//bin/./env", what: "pkg") == "usr/bin/env")
        #expect(try PayloadMatcher.normalise("./", what: "pkg") == "")
        #expect(try PayloadMatcher.normalise(".", what: "pkg") == "")
        #expect(try PayloadMatcher.normalise("usr/bin/env", what: "pkg") == "usr/bin/env")
        for bad in ["/etc/passwd", ".//etc", "../x", "./a/../../x", "./a\u{0}b"] {
            let error = refusal { _ = try PayloadMatcher.normalise(bad, what: "pkg") }
            #expect(error?.code == .invalidInput, "\(bad)")
            #expect(error?.message.hasPrefix("pkg: payload path ") == true, "\(bad)")
        }
    }
}
