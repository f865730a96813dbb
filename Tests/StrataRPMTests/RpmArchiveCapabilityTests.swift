// File capabilities: our parser of libcap's text form against libcap itself, by way of the
// kernel: `setcap TEXT file` writes the attribute libcap makes of TEXT, and reading it back
// (Python's os.getxattr) gives the bytes ours must equal. Texts libcap refuses must be refused
// too. Needs root (setcap needs CAP_SETFCAP) and libcap2-bin.
import Foundation
import StrataCore
import StrataTestSupport
import Testing

@testable import StrataRPM

#if canImport(Glibc)
    import Glibc
#endif

private let canSetcap = getuid() == 0 && Shell.locate("setcap") != nil

/// The running kernel's last capability; libcap's `all` stops there, ours at 40.
private let kernelLastCap = (try? String(contentsOfFile: "/proc/sys/kernel/cap_last_cap", encoding: .utf8))
    .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }

@Suite("File capabilities from rpm's text to security.capability", .timeLimit(.minutes(1)))
struct RpmArchiveCapabilityTests {
    /// What setcap makes of each text on a real file (one setcap run for all), `nil` for a text
    /// it refuses (then one run each).
    static func libcap(_ texts: [String]) async throws -> [[UInt8]?] {
        let directory = try TemporaryDirectory.make(prefix: "setcap")
        let files = texts.indices.map { "\(directory)/file\($0)" }
        for file in files { try Data().write(to: URL(fileURLWithPath: file)) }
        let pairs = zip(texts, files).flatMap { [$0, $1] }
        if try await Shell.run("setcap", pairs, check: false).exitCode != 0 {
            guard texts.count > 1 else { return [nil] }
            var out: [[UInt8]?] = []
            for text in texts { out += try await libcap([text]) }
            return out
        }
        let script = "import os, sys\nfor f in sys.argv[1:]: print(os.getxattr(f, 'security.capability').hex())"
        let lines = try await Shell.run("python3", ["-c", script] + files).output.split(separator: "\n")
        return lines.map { line in
            stride(from: 0, to: line.count, by: 2).compactMap { i in
                let start = line.index(line.startIndex, offsetBy: i)
                return UInt8(line[start..<line.index(start, offsetBy: 2)], radix: 16)
            }
        }
    }

    static let accepted = [
        "cap_net_raw=ep", "cap_net_raw+p", "cap_net_raw,cap_net_admin+p", "cap_setuid,cap_checkpoint_restore=eip",
        "cap_sys_admin+i", "CAP_NET_RAW=ep", "cap_chown=ep cap_chown-e", "cap_kill=p cap_kill+e",
        "cap_dac_override,cap_fowner=+ep", "cap_chown,cap_kill=ep cap_kill=", "45=ep", "0x2d=p", "015=ep",
        "  cap_net_bind_service=ep  ", "cap_bpf,cap_perfmon=ep cap_bpf-ep",
    ]

    @Test("the attribute is the one libcap writes", .enabled(if: canSetcap, "needs root and setcap"))
    func sameAsLibcap() async throws {
        let expected = try await Self.libcap(Self.accepted)
        try #require(expected.count == Self.accepted.count)
        for (text, libcap) in zip(Self.accepted, expected) {
            let ours = try FileCapabilities(text: text).xattr
            #expect(ours == libcap, "\(text)")
            #expect(ours.count == 20)
        }
    }

    @Test(
        "'all' is every capability up to cap_checkpoint_restore, as libcap says on a kernel that has 40",
        .enabled(if: canSetcap && kernelLastCap == 40, "needs root, setcap and a kernel whose last capability is 40"))
    func allSameAsLibcap() async throws {
        let texts = ["=ep", "all=p", "all=p cap_chown-p", "all+ep cap_sys_admin-ep"]
        for (text, libcap) in zip(texts, try await Self.libcap(texts)) {
            #expect(try FileCapabilities(text: text).xattr == libcap, "\(text)")
        }
    }

    @Test(
        "texts libcap refuses are refused",
        .enabled(if: canSetcap, "needs root and setcap"),
        arguments: [
            "cap_bogus=ep", "+ep", "-p", "cap_chown+p cap_kill+ep", "cap_chown=ex", "cap_chown", "64=p",
            "cap_chown,=p", "cap_chown+", "cap_net_raw=ep,", "=+p",
        ])
    func refusedLikeLibcap(text: String) async throws {
        #expect(try await Self.libcap([text]) == [nil], "setcap accepts \(text)")
        let error = #expect(throws: StrataError.self) { _ = try FileCapabilities(text: text) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("'\(text)'") == true)
    }

    @Test("the layout is vfs_cap_data revision 2")
    func layout() throws {
        // cap_net_raw is 13: bit 13 of permitted[0]; the effective flag is bit 0 of magic_etc.
        let bytes = try FileCapabilities(text: "cap_net_raw=ep").xattr
        #expect(bytes == [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00] + Array(repeating: 0, count: 12))
        // cap_checkpoint_restore is 40: bit 8 of inheritable[1], the last word.
        let high = try FileCapabilities(text: "cap_checkpoint_restore+i").xattr
        #expect(high == [0x00, 0x00, 0x00, 0x02] + Array(repeating: 0, count: 12) + [0x00, 0x01, 0x00, 0x00])
    }
}
