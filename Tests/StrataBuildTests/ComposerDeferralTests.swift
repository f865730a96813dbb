// A build composes its lower layer with symlinks kept back and places them in the merged view
// afterwards (Composer.deferSymlinks): the tree must be the one composing them in place gives,
// whatever the order of entries — a symlink replaced by a later file or directory, a file by a
// later symlink, files placed through a symlinked directory, a chain of symlinks, an absolute
// one, a hardlink to a symlink, owners and dates of symlinks, merged /usr, a symlink below a placed
// one that is replaced later, two spellings of one path.
import Foundation
import StrataCore
import StrataPackaging
import StrataTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Composing with symlinks kept back", .enabled(if: geteuid() == 0, "needs root (owners)"))
struct ComposerDeferralTests {
    static func entries(object: String) -> [PackageEntry] {
        func dir(_ path: String) -> PackageEntry { PackageEntry(path: path, kind: .directory, mode: 0o755, uid: 0, gid: 0) }
        func file(_ path: String) -> PackageEntry {
            PackageEntry(path: path, kind: .file(object: object), mode: 0o644, uid: 0, gid: 0)
        }
        func link(_ path: String, _ target: String, uid: UInt32 = 0, mtime: Int64? = 1_700_000_000) -> PackageEntry {
            PackageEntry(path: path, kind: .symlink(target: target), mode: 0o777, uid: uid, gid: uid, mtime: mtime)
        }
        return [
            dir("usr"), dir("usr/share"), dir("usr/bin"), file("usr/share/a"),
            link("usr/share/b", "a"), file("usr/share/b"),  // a file replaces a symlink
            file("usr/share/c"), link("usr/share/c", "a"),  // a symlink replaces a file
            link("usr/share/d", "sub"), dir("usr/share/sub"), file("usr/share/d/x"),  // through a symlinked directory
            link("usr/e", "share/f"), link("usr/share/f", "sub"), file("usr/e/y"),  // a chain
            link("usr/share/g", "a"), PackageEntry(path: "usr/share/h", kind: .hardlink(target: "usr/share/g"), mode: 0o777, uid: 0, gid: 0),
            link("usr/share/i", "a"), dir("usr/share/i"),  // a directory replaces a symlink
            link("usr/share/j", "/usr/share/sub"), file("usr/share/j/z"),  // absolute, resolved inside the tree
            link("usr/share/k", "a", uid: 1, mtime: 1000),
            link("bin/sh", "dash"), file("bin/dash"),  // merged /usr
            link("usr/share/l", "missing"),
            // A symlink below a placed one lands where that one leads, even once it is replaced.
            dir("usr/share/y"), dir("usr/share/w"), link("usr/share/x", "y"), file("usr/share/x/q"),
            link("usr/share/x/z", "t"), link("usr/share/x", "w"),
            // Two spellings of one place: a later entry at the real path replaces the symlink.
            dir("usr/share/n"), link("usr/share/m", "n"), file("usr/share/m/trigger"), link("usr/share/m/g", "a"),
            file("usr/share/n/g"),
            // A package's own usr/lib64 symlink still gets the top-level merged-/usr link.
            dir("usr/lib"), link("usr/lib64", "lib"),
        ]
    }

    static func compose(into root: String, object: String, deferring: Bool) throws -> Int {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var composer = try Composer(root: root, layout: .mergedUsr)
        composer.deferSymlinks = deferring
        defer { composer.close() }
        for entry in entries(object: object) { try composer.place(entry) }
        try composer.linkMergedDirectories()
        let kept = composer.deferred.count
        try Composer.placeSymlinks(composer.deferred, in: root)
        return kept
    }

    @Test("the tree equals composing every symlink in place")
    func sameTree() throws {
        let work = try TemporaryDirectory.make(prefix: "strata-defer")
        let object = "\(work)/object"
        try "content\n".write(toFile: object, atomically: true, encoding: .utf8)
        _ = try Self.compose(into: "\(work)/in-place", object: object, deferring: false)
        let kept = try Self.compose(into: "\(work)/deferred", object: object, deferring: true)
        #expect(kept > 0, "some symlinks were kept back to the end")
        let expected = try TreeListing.read(root: "\(work)/in-place")
        let actual = try TreeListing.read(root: "\(work)/deferred")
        #expect(actual.entries.map(\.description) == expected.entries.map(\.description))
        for entry in expected.entries where entry.kind == .symlink {
            #expect(actual[entry.path]?.modificationTime == entry.modificationTime, "\(entry.path)")
        }
        #expect(expected["usr/share/sub/x"]?.kind == .regular && expected["usr/share/sub/y"]?.kind == .regular)
        #expect(expected["usr/share/sub/z"]?.kind == .regular, "the absolute symlink resolved inside the tree")
        #expect(expected["usr/share/k"]?.uid == 1)
        #expect(expected["usr/share/y/z"]?.kind == .symlink && expected["usr/share/x"]?.symlinkTarget == "w")
        #expect(expected["usr/share/n/g"]?.kind == .regular)
        #expect(expected["lib64"]?.symlinkTarget == "usr/lib64")
    }
}
