// Helpers for the RpmArchive tests: building real packages from spec text with rpmbuild,
// collecting what RpmArchive reports, asking `rpm -qp` the same questions, and rewriting a real
// package's payload (with Python) into hostile variants whose digests are all made consistent
// again, so only the structural checks can refuse them.
import Foundation
import StrataArchive
import StrataCore
import StrataRPM
import StrataTestSupport

/// Builds binary rpms from a spec text with the real rpmbuild.
enum SpecBuild {
    /// Runs `rpmbuild -bb` on `spec` in a new temporary top directory.
    ///
    /// - Parameters:
    ///   - spec: the spec file's text (its `%install` makes the files under `%{buildroot}`).
    ///   - defines: extra `--define` macros (`_binary_payload`).
    /// - Returns: the paths of the rpms built, by package name-version-release.arch.
    static func build(_ spec: String, defines: [String: String] = [:]) async throws -> [String: String] {
        let top = try TemporaryDirectory.make(prefix: "specbuild")
        let specPath = "\(top)/package.spec"
        try Data(spec.utf8).write(to: URL(fileURLWithPath: specPath))
        var arguments = [
            "-bb", "--quiet", "--define", "_topdir \(top)", "--define", "_build_id_links none",
            "--define", "_buildhost strata-test.invalid", "--define", "use_source_date_epoch_as_buildtime 1",
        ]
        for (name, value) in defines.sorted(by: { $0.key < $1.key }) { arguments += ["--define", "\(name) \(value)"] }
        try await Shell.run(
            "rpmbuild", arguments + [specPath], environment: ["SOURCE_DATE_EPOCH": "1700000000"], directory: top,
            timeout: .seconds(60))
        var out: [String: String] = [:]
        let rpms = "\(top)/RPMS"
        for arch in try FileManager.default.contentsOfDirectory(atPath: rpms) {
            for name in try FileManager.default.contentsOfDirectory(atPath: "\(rpms)/\(arch)")
            where name.hasSuffix(".rpm") {
                out[String(name.dropLast(4))] = "\(rpms)/\(arch)/\(name)"
            }
        }
        return out
    }
}

/// Everything ``RpmArchive/read(_:what:header:entry:)`` reports about one package.
struct ReadRpm {
    var header: RpmHeader?
    var entries: [ArchiveEntry] = []
    /// SHA-256 (hex) of each regular file's streamed content.
    var contents: [String: String] = [:]
    /// The text of each regular file's content, when it is UTF-8.
    var texts: [String: String] = [:]

    static func read(_ path: String, what: String = "demo-package") throws -> ReadRpm {
        var result = ReadRpm()
        try RpmArchive.read(
            path, what: what, header: { result.header = $0 },
            entry: { entry, content in
                result.entries.append(entry)
                if entry.kind == .file {
                    var hasher = StreamingSHA256()
                    var bytes: [UInt8] = []
                    try content.forEachChunk {
                        hasher.update($0)
                        bytes.append(contentsOf: $0)
                    }
                    result.contents[entry.path] = hasher.finalize().hex
                    result.texts[entry.path] = String(validating: bytes, as: UTF8.self)
                }
            })
        return result
    }

    /// ``RpmArchive/readHeader(_:what:)``, callable from the async tests.
    static func header(_ path: String, what: String = "demo-package") throws -> RpmHeader {
        try RpmArchive.readHeader(path, what: what)
    }

    func entry(_ path: String) -> ArchiveEntry? { entries.first { $0.path == path } }
}

/// `rpm -qp` on a package, for cross-checks.
enum RpmQuery {
    /// The file fields `--qf` prints, one tab-separated row per file, in header order.
    static let fileFormat =
        "[%{FILENAMES}\\t%{FILEMODES:octal}\\t%{FILEUSERNAME}\\t%{FILEGROUPNAME}\\t%{FILEMTIMES}\\t%{FILESIZES}"
        + "\\t%{FILEFLAGS}\\t%{FILELINKTOS}\\t%{FILEINODES}\\t%{FILEDIGESTS}\\t%{FILECAPS}\\t%{FILELANGS}"
        + "\\t%{FILERDEVS}\\n]"

    /// The rows of ``fileFormat`` for `path`; a tag the header lacks (rpm's `(none)`) as `""`.
    static func fileRows(_ path: String) async throws -> [[String]] {
        try await run(["--qf", fileFormat, path]).split(separator: "\n").map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map { $0 == "(none)" ? "" : String($0) }
        }
    }

    /// `rpm -qp` with `arguments`, standard output.
    static func run(_ arguments: [String]) async throws -> String {
        try await Shell.run("rpm", ["-qp", "--nosignature"] + arguments, timeout: .seconds(30)).output
    }
}

/// Rewrites the payload of a real rpm (gzip or uncompressed) and makes its payload digest,
/// header digests, MD5 and sizes consistent again, as a hostile packager would.
enum CraftedRpm {
    /// argv: input, output, then operations on the cpio members (paths as stored, `./usr/bin/x`):
    /// `rename:OLD:NEW`, `drop:PATH`, `mode:PATH:OCTAL`, `data:PATH:TEXT`, `dup:PATH`,
    /// `add:PATH:OCTALMODE:TEXT`, `first:PATH` (move to the front), `keep-payload-digest` (leave
    /// the header's payload digest as it was). With `layout` instead of an
    /// output path, prints the offsets of the signature, header and payload.
    static let script = #"""
        import gzip, hashlib, struct, sys
        src, dst, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
        data = open(src, "rb").read()
        def extent(off):
            assert data[off:off + 3] == b"\x8e\xad\xe8", "no header magic at %d" % off
            il, dl = struct.unpack(">II", data[off + 8:off + 16])
            return il, 16 + 16 * il + dl
        sig_il, sig_len = extent(96)
        hdr_off = 96 + sig_len + (-sig_len % 8)
        hdr_il, hdr_len = extent(hdr_off)
        pay_off = hdr_off + hdr_len
        if dst == "layout":
            print(96, hdr_off, pay_off, len(data))
            sys.exit(0)
        sig, hdr, payload = bytearray(data[96:hdr_off]), bytearray(data[hdr_off:pay_off]), data[pay_off:]
        gz = payload[:2] == b"\x1f\x8b"
        raw = gzip.decompress(payload) if gz else payload
        entries, pos = [], 0
        while True:
            h = raw[pos:pos + 110]
            assert h[:6] == b"070701", "not newc at %d" % pos
            f = [int(h[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
            name = raw[pos + 110:pos + 110 + f[11] - 1]
            pos += 110 + f[11]
            pos += -pos % 4
            body = raw[pos:pos + f[6]]
            pos += f[6]
            pos += -pos % 4
            if name == b"TRAILER!!!":
                break
            entries.append({"f": f, "name": name, "data": body})
        def find(n):
            return next(e for e in entries if e["name"] == n.encode())
        keep = "keep-payload-digest" in ops
        for op in ops:
            if op == "keep-payload-digest": continue
            kind, *a = op.split(":")
            if kind == "rename": find(a[0])["name"] = a[1].encode()
            elif kind == "drop": entries.remove(find(a[0]))
            elif kind == "mode": find(a[0])["f"][1] = int(a[1], 8)
            elif kind == "data": find(a[0])["data"] = a[1].encode()
            elif kind == "dup": entries.append({"f": list(find(a[0])["f"]), "name": find(a[0])["name"], "data": find(a[0])["data"]})
            elif kind == "add": entries.append({"f": [9999, int(a[1], 8), 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], "name": a[0].encode(), "data": a[2].encode()})
            elif kind == "first":
                e = find(a[0]); entries.remove(e); entries.insert(0, e)
            else: raise SystemExit("unknown operation " + op)
        out = bytearray()
        def put(f, name, body):
            f = list(f); f[6] = len(body); f[11] = len(name) + 1
            out.extend(b"070701" + b"".join(b"%08X" % v for v in f) + name + b"\0")
            out.extend(b"\0" * (-len(out) % 4))
            out.extend(body)
            out.extend(b"\0" * (-len(out) % 4))
        for e in entries:
            put(e["f"], e["name"], e["data"])
        put([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], b"TRAILER!!!", b"")
        newpay = gzip.compress(bytes(out), mtime=0) if gz else bytes(out)
        def patch(blob, il, tag, value):
            for i in range(il):
                t, ty, offset, count = struct.unpack(">IIiI", blob[16 + 16 * i:32 + 16 * i])
                if t == tag:
                    at = 16 + 16 * il + offset
                    if ty in (6, 8):
                        old = blob[at:blob.index(b"\0", at)]
                        assert len(old) == len(value), "tag %d: %d bytes, not %d" % (tag, len(old), len(value))
                    blob[at:at + len(value)] = value
                    return
        if not keep:
            patch(hdr, hdr_il, 5092, hashlib.sha256(newpay).hexdigest().encode())
        patch(sig, sig_il, 269, hashlib.sha1(hdr).hexdigest().encode())
        patch(sig, sig_il, 273, hashlib.sha256(hdr).hexdigest().encode())
        patch(sig, sig_il, 1004, hashlib.md5(bytes(hdr) + newpay).digest())
        patch(sig, sig_il, 1000, struct.pack(">I", len(hdr) + len(newpay)))
        patch(sig, sig_il, 1007, struct.pack(">I", len(out)))
        with open(dst, "wb") as fh:
            fh.write(data[:96] + sig + hdr + newpay)
        """#

    /// A copy of `rpm` with its payload rewritten by `operations`.
    static func rewrite(_ rpm: String, _ operations: [String]) async throws -> String {
        let out = try TemporaryDirectory.make(prefix: "crafted-rpm") + "/crafted.rpm"
        try await Shell.run("python3", ["-c", script, rpm, out] + operations)
        return out
    }

    /// Where the header and the payload start in `rpm`, and its size.
    static func layout(_ rpm: String) async throws -> (header: Int, payload: Int, size: Int) {
        let words = try await Shell.run("python3", ["-c", script, rpm, "layout"]).output.split(separator: " ")
            .compactMap {
                Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        guard words.count == 4 else { throw StrataError(.internalError, "layout of \(rpm): \(words)") }
        return (words[1], words[2], words[3])
    }
}

/// The StrataError `body` throws, or `nil` when it throws nothing (a synchronous twin of
/// `strataError`, for the `noasync` RpmArchive calls).
func refusal(_ body: () throws -> Void) -> StrataError? {
    do {
        try body()
        return nil
    } catch let error as StrataError {
        return error
    } catch {
        return StrataError(.internalError, "not a StrataError: \(error)")
    }
}
