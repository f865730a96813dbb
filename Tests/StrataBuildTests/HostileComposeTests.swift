import Foundation
@testable import StrataBuild
import StrataCore
import StrataPackaging
import StrataDeb
import StrataStore
import StrataTestSupport
import Testing

/// Packages are untrusted input: composing them must never write outside the tree.
@Suite("Hostile packages during import and compose", .enabled(if: geteuid() == 0, "needs root (device nodes, owners)"))
struct HostileComposeTests {
    /// Writes a .deb by hand (Python's tarfile + ar), so it can hold what dpkg-deb refuses to build.
    static func hostileDeb(_ members: String, at path: String) throws {
        let script = """
            import io, tarfile, sys, time
            def tar(build):
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode='w:gz', format=tarfile.GNU_FORMAT) as t:
                    build(t)
                return buf.getvalue()
            def add(t, name, kind, data=b'', target='', mode=0o644, dev=(0, 0)):
                i = tarfile.TarInfo(name); i.type = kind; i.mode = mode; i.mtime = 0
                i.linkname = target; i.devmajor, i.devminor = dev
                if kind == tarfile.REGTYPE: i.size = len(data); t.addfile(i, io.BytesIO(data))
                else: t.addfile(i)
            control = tar(lambda t: add(t, './control', tarfile.REGTYPE, b'Package: hostile\\nVersion: 1\\nArchitecture: all\\nMaintainer: x\\nDescription: x\\n'))
            def data(t):
            \(members.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            payload = tar(data)
            def member(name, body):
                h = name.ljust(16).encode() + '0'.ljust(12).encode() + '0'.ljust(6).encode() + '0'.ljust(6).encode() + '100644'.ljust(8).encode() + str(len(body)).ljust(10).encode() + b'`\\n'
                return h + body + (b'\\n' if len(body) % 2 else b'')
            with open(sys.argv[1], 'wb') as f:
                f.write(b'!<arch>\\n' + member('debian-binary', b'2.0\\n') + member('control.tar.gz', control) + member('data.tar.gz', payload))
            """
        let result = try Command.runBlocking("/usr/bin/python3", ["-c", script, path])
        guard result.status == 0 else { throw StrataError(.toolFailed, result.stderr) }
    }

    func compose(_ members: String, writeDatabase: Bool = false) throws -> (root: String, outside: String, error: StrataError?) {
        let store = try Store(root: TemporaryDirectory.make(prefix: "strata-hostile-store"))
        let work = try TemporaryDirectory.make(prefix: "strata-hostile")
        let outside = "\(work)/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let deb = "\(work)/hostile.deb"
        try Self.hostileDeb(members.replacingOccurrences(of: "OUTSIDE", with: outside), at: deb)
        let blob = try store.blobs.ingest(file: deb)
        let root = "\(work)/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        do {
            let lock = Lockfile.Package(
                name: "hostile", version: "1", architecture: "amd64", repository: "fixture", path: "hostile.deb",
                sha256: blob, size: 0)
            let (package, _) = try store.withWriterLock {
                try DebPackager().importPackage(lock, blob: blob, importer: PackageImporter(store: store))
            }
            // As a build composes (symlinks kept back, then placed), after composing them in
            // place: both must hold, and make the same tree.
            let inPlace = "\(work)/in-place"
            try FileManager.default.createDirectory(atPath: inPlace, withIntermediateDirectories: true)
            var plain = try Composer(root: inPlace)
            defer { plain.close() }
            let plainError: StrataError?
            do {
                for entry in package.entries { try plain.place(entry) }
                plainError = nil
            } catch let error as StrataError { plainError = error }
            var composer = try Composer(root: root)
            composer.deferSymlinks = true
            defer { composer.close() }
            do {
                for entry in package.entries { try composer.place(entry) }
                try Composer.placeSymlinks(composer.deferred, in: root)
            } catch let error as StrataError {
                #expect(plainError?.code == error.code, "in place: \(String(describing: plainError)); kept back: \(error)")
                throw error
            }
            #expect(plainError == nil, "composed in place: \(String(describing: plainError))")
            #expect(
                try TreeListing.read(root: root).entries.map(\.description)
                    == TreeListing.read(root: inPlace).entries.map(\.description))
            if writeDatabase { try DpkgDatabase.write([package.record.database], root: root) { try Digests.md5(file: $0) } }
            return (root, outside, nil)
        } catch let error as StrataError {
            return (root, outside, error)
        }
    }

    @Test("a ../ path refuses the whole package and writes nothing anywhere")
    func dotDot() throws {
        let (root, outside, error) = try compose("""
            add(t, './usr/', tarfile.DIRTYPE, mode=0o755)
            add(t, './usr/../../evil', tarfile.REGTYPE, b'evil')
            """)
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("hostile") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: (root as NSString).deletingLastPathComponent + "/evil"))
    }

    @Test("an absolute symlink used as a directory later stays inside the root; setuid and devices are kept")
    func symlinkEscape() throws {
        let (root, outside, error) = try compose("""
            add(t, './etc/', tarfile.DIRTYPE, mode=0o755)
            add(t, './etc/link', tarfile.SYMTYPE, target='OUTSIDE')
            add(t, './etc/link/planted', tarfile.REGTYPE, b'planted')
            add(t, './etc/up', tarfile.SYMTYPE, target='../../../../../..')
            add(t, './etc/up/escaped', tarfile.REGTYPE, b'escaped')
            add(t, './usr/', tarfile.DIRTYPE, mode=0o755)
            add(t, './usr/bin/', tarfile.DIRTYPE, mode=0o755)
            add(t, './usr/bin/suid', tarfile.REGTYPE, b'#!/bin/sh', mode=0o4755)
            add(t, './dev/', tarfile.DIRTYPE, mode=0o755)
            add(t, './dev/null2', tarfile.CHRTYPE, mode=0o666, dev=(1, 3))
            """)
        #expect(error == nil, "\(error?.description ?? "")")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "nothing written through the symlink")
        #expect(FileManager.default.fileExists(atPath: "\(root)\(outside)/planted"), "re-rooted inside the tree")
        #expect(FileManager.default.fileExists(atPath: "\(root)/escaped"), "'..' stops at the root")
        var st = stat()
        #expect(lstat("\(root)/usr/bin/suid", &st) == 0 && (st.st_mode & 0o7777) == 0o4755)
        #expect(lstat("\(root)/dev/null2", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test("a package that makes the dpkg database directory a symlink cannot redirect strata's writes")
    func databaseSymlink() throws {
        let (_, outside, error) = try compose("""
            add(t, './var/', tarfile.DIRTYPE, mode=0o755)
            add(t, './var/lib/', tarfile.DIRTYPE, mode=0o755)
            add(t, './var/lib/dpkg/', tarfile.DIRTYPE, mode=0o755)
            add(t, './var/lib/dpkg/info', tarfile.SYMTYPE, target='OUTSIDE')
            """, writeDatabase: true)
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("var/lib/dpkg/info") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    }
}
