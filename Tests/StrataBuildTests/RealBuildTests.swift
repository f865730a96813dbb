import Foundation
import StrataArchive
@testable import StrataBuild
import StrataCore
import StrataFetch
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite(
    "Building debian/12 minbase", .serialized,
    .enabled(if: BuildFixture.enabled, "needs root (overlayfs, chroot, device nodes) and the host's Debian mirror"))
struct RealBuildTests {
    @Test("the template builds; inside, dpkg --audit is empty and a shell runs; store objects are unchanged")
    func buildsAndWorks() async throws {
        let served = try await LocalMirror.shared.minbase()
        let output = try TemporaryDirectory.make(prefix: "strata-out") + "/minbase.tar"
        let store = try TemporaryDirectory.make(prefix: "strata-build-store")
        let result = try await BuildFixture.build(served.localLock, output: output, store: store)
        #expect(result.packages == 96)
        #expect(result.usedOverlay)
        let fsck = try Store(root: store).fsck()
        #expect(fsck.isClean, "store objects changed by the scripts: \(fsck.problems.prefix(5))")

        let root = try await BuildFixture.extract(output)
        let audit = try await BuildFixture.inChroot(root, "dpkg --audit")
        #expect(audit.status == 0 && audit.stdoutText.isEmpty, "dpkg --audit: \(audit.stdoutText)")
        let shell = try await BuildFixture.inChroot(root, "id && ls /")
        #expect(shell.status == 0)
        #expect(shell.stdoutText.contains("uid=0(root)") && shell.stdoutText.contains("usr"))
        let installed = try await BuildFixture.inChroot(root, "dpkg-query -W -f='${db:Status-Abbrev}\\n' | sort | uniq -c")
        #expect(installed.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "96 ii")
        #expect(FileManager.default.fileExists(atPath: "\(root)/etc/ld.so.cache"), "the ldconfig trigger ran")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/usr/sbin/policy-rc.d"))
        #expect(!FileManager.default.fileExists(atPath: "\(root)/var/cache/ldconfig/aux-cache"))
    }

    @Test("two builds of one lock, with different stores at different times, are byte-identical")
    func reproducible() async throws {
        let served = try await LocalMirror.shared.minbase()
        let dir = try TemporaryDirectory.make(prefix: "strata-out")
        let first = try await BuildFixture.build(served.localLock, output: "\(dir)/a.tar")
        try await Task.sleep(for: .seconds(2))
        let second = try await BuildFixture.build(served.localLock, output: "\(dir)/b.tar")
        #expect(first.outputDigest == second.outputDigest)
        #expect(first.outputDigest != nil)
    }

    @Test("its file list equals mmdebstrap's minbase tarball but for the allowlisted differences")
    func sameFilesAsMmdebstrap() async throws {
        let served = try await LocalMirror.shared.minbase()
        let dir = try TemporaryDirectory.make(prefix: "strata-cmp")
        _ = try await BuildFixture.build(served.localLock, output: "\(dir)/strata.tar")
        let sources = served.localLock.repositories.map {
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \($0.url) \($0.suite ?? "") main"
        }
        // The same SOURCE_DATE_EPOCH strata uses (the newest index date): shadow's password dates follow it.
        let epoch = try #require(served.localLock.newestIndexDate)
        _ = try await Shell.run(
            "mmdebstrap", ["--variant=minbase", "--architectures=amd64", "bookworm", "\(dir)/mm.tar"] + sources,
            environment: ["SOURCE_DATE_EPOCH": String(epoch)], timeout: .seconds(600))
        let ours = try TarListing.read("\(dir)/strata.tar")
        let theirs = try TarListing.read("\(dir)/mm.tar")
        let allowed = try Allowlist.read(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Allowlists/debian-12-minbase.txt").path)
        var unexpected = [String]()
        for path in Set(ours.keys).union(theirs.keys).sorted() {
            let kind: String
            switch (ours[path], theirs[path]) {
            case (.some, nil): kind = "only-strata"
            case (nil, .some): kind = "only-mmdebstrap"
            case (let a?, let b?) where a != b: kind = "differs"
            default: continue
            }
            if allowed[path] != kind { unexpected.append("\(kind) \(path): strata \(ours[path].map(String.init(describing:)) ?? "-") mmdebstrap \(theirs[path].map(String.init(describing:)) ?? "-")") }
        }
        #expect(unexpected.isEmpty, "\(unexpected.count) unexpected differences:\n\(unexpected.prefix(30).joined(separator: "\n"))")
        let stale = allowed.keys.filter { path in
            switch allowed[path] {
            case "only-strata": return !(ours[path] != nil && theirs[path] == nil)
            case "only-mmdebstrap": return !(ours[path] == nil && theirs[path] != nil)
            default: return !(ours[path] != nil && theirs[path] != nil && ours[path] != theirs[path])
            }
        }
        #expect(stale.isEmpty, "allowlist entries that no longer apply: \(stale.sorted())")
        #expect(ours.count > 8000)
    }

    @Test("a blob with one byte flipped is detected and never imported; the next build fetches it again")
    func corruptBlob() async throws {
        let served = try await LocalMirror.shared.minbase()
        let store = try Store(root: TemporaryDirectory.make(prefix: "strata-build-store"))
        let victim = try #require(served.lock.packages.first { $0.name == "base-files" })
        _ = try store.blobs.ingest(file: Store(root: served.store).blobs.path(of: victim.sha256), expected: victim.sha256)
        let path = store.blobs.path(of: victim.sha256)
        var bytes = try FileReader.readAll(path)
        bytes[bytes.count / 2] ^= 0x01
        chmod(path, 0o644)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let dir = try TemporaryDirectory.make(prefix: "strata-out")
        let error = await #expect(throws: StrataError.self) {
            try await BuildFixture.build(served.localLock, output: "\(dir)/x.tar", store: store.root)
        }
        #expect(error?.code == .verificationFailed)
        #expect(error?.message.contains("base-files") == true)
        #expect(try store.packageTree(blob: victim.sha256) == nil)
        #expect(!store.blobs.contains(victim.sha256))
        let again = try await BuildFixture.build(served.localLock, output: "\(dir)/y.tar", store: store.root)
        #expect(again.packages == 96)
    }

    @Test("inside the built template, apt-get update and apt-get install -y hello succeed against the real mirror")
    func aptWorks() async throws {
        let served = try await LocalMirror.shared.minbase()
        let output = try TemporaryDirectory.make(prefix: "strata-out") + "/minbase.tar"
        _ = try await BuildFixture.build(served.lock, output: output, store: served.store)
        let root = try await BuildFixture.extract(output)
        try FileManager.default.copyItem(atPath: "/etc/resolv.conf", toPath: "\(root)/etc/resolv.conf")
        let result = try await BuildFixture.inChroot(root, "apt-get update -qq && apt-get install -y -qq hello >/dev/null && hello")
        #expect(result.status == 0, "\(result.stdoutText.suffix(2000))")
        #expect(result.stdoutText.contains("Hello, world!"))
    }
}

/// A tar's entries as (type, mode, owner, link target, size, content digest, and for files and
/// symlinks the mtime), by normalised path.
enum TarListing {
    static func read(_ path: String) throws -> [String: String] {
        let script = """
            import tarfile, hashlib, sys
            with tarfile.open(sys.argv[1]) as t:
                for m in t:
                    n = m.name[2:] if m.name.startswith('./') else m.name
                    n = n.rstrip('/') or '.'
                    kind = {tarfile.REGTYPE: 'f', tarfile.DIRTYPE: 'd', tarfile.SYMTYPE: 'l', tarfile.LNKTYPE: 'h', tarfile.CHRTYPE: 'c', tarfile.BLKTYPE: 'b', tarfile.FIFOTYPE: 'p'}.get(m.type, '?')
                    digest = hashlib.sha256(t.extractfile(m).read()).hexdigest() if kind == 'f' else ''
                    target = m.linkname[2:] if kind == 'h' and m.linkname.startswith('./') else (m.linkname if kind in 'lh' else '')
                    dev = f'{m.devmajor},{m.devminor}' if kind in 'cb' else ''
                    # Files and links are dated as their packages date them (dpkg's own database files
                    # under var/lib/dpkg/info are written by strata, not unpacked: not compared).
                    dated = f' @{m.mtime}' if kind in 'fl' and not n.startswith('var/lib/dpkg/info/') else ''
                    print(f'{n}\\t{kind} {m.mode:o} {m.uid}:{m.gid} {target} {m.size if kind == "f" else 0} {digest} {dev}{dated}')
            """
        let output = try Command.runBlocking("/usr/bin/python3", ["-c", script, path])
        guard output.status == 0 else { throw StrataError(.toolFailed, "reading \(path): \(output.stderr)") }
        var out = [String: String]()
        for line in output.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }
}

/// `KIND PATH  # reason` lines.
enum Allowlist {
    static func read(_ path: String) throws -> [String: String] {
        var out = [String: String]()
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let words = line.split(separator: "#", maxSplits: 1)[0].split(separator: " ")
            guard words.count == 2, line.contains("#") else {
                throw StrataError(.invalidInput, "\(path): '\(line)': expected KIND PATH  # reason")
            }
            out[String(words[1])] = String(words[0])
        }
        return out
    }
}
