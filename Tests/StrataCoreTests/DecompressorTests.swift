import Foundation
import StrataArchive
import StrataCore
import Testing

@Suite("Decompressing index files by their magic bytes")
struct DecompressorTests {
    static let text = Array(String(repeating: "Package: strata\nVersion: 1.0\n\n", count: 500).utf8)

    @Test("xz, gzip, zstd and plain input give the same bytes", arguments: ["xz", "gzip", "zstd", "cat"])
    func formats(tool: String) throws {
        let dir = NSTemporaryDirectory() + "strata-dc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = "\(dir)/Packages"
        try Data(Self.text).write(to: URL(fileURLWithPath: plain))
        let executable = try #require(Command.which(tool))
        let compressed = try Command.runBlocking(executable, tool == "cat" ? [plain] : ["-c", plain])
        #expect(compressed.status == 0)
        try Data(compressed.stdout).write(to: URL(fileURLWithPath: "\(dir)/blob"))
        #expect(try Decompressor.decompress(file: "\(dir)/blob", what: "blob") == Self.text)
    }

    @Test("corrupt xz data is an error naming the file")
    func corrupt() throws {
        let path = NSTemporaryDirectory() + "strata-dc-\(UUID().uuidString).xz"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let xz = try Command.runBlocking(try #require(Command.which("xz")), ["-c"], input: Self.text)
        var bytes = xz.stdout
        bytes[bytes.count / 2] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StrataError.self) { try Decompressor.decompress(file: path, what: "Packages.xz") }
        #expect(error?.message.hasPrefix("Packages.xz") == true)
    }
}
