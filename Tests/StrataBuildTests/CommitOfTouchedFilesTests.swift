// Commit takes the files no script touched from compose (their store objects, not read again)
// and reads the rest from the overlay's upper layer (Scratch.untouched). A fixture package's
// postinst changes its own shipped files every way a script can — appends, chmod, chown, a rename
// over a file, a deletion, a directory removed and made again, a hardlink — and the test checks
// that the committed tree is what the build exported: the tar written from the store's objects
// equals the build's own tar byte for byte, and holds the changed contents.
import Foundation
import StrataBuild
import StrataCore
import StrataFetch
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("Commit of a tree the scripts changed", .enabled(if: BuildFixture.enabled, "needs root and the host's Debian mirror"))
struct CommitOfTouchedFilesTests {
    @Test("files a postinst changed are committed as changed; the objects' export equals the build's tar")
    func touchedFiles() async throws {
        let served = try await LocalMirror.shared.minbase()
        let toucher = DebPackageSpec(
            name: "strata-toucher", version: "1.0-1", architecture: "all",
            files: [
                "/usr/share/toucher/appended": "one\n", "/usr/share/toucher/chmodded": "mode\n",
                "/usr/share/toucher/chowned": "owner\n", "/usr/share/toucher/renamed-over": "old\n",
                "/usr/share/toucher/deleted": "gone\n", "/usr/share/toucher/untouched": "same\n",
                "/usr/share/toucher/dir/inside": "before\n", "/usr/share/toucher/linked": "link\n",
            ],
            maintainerScripts: [
                "postinst": """
                    #!/bin/sh
                    set -e
                    d=/usr/share/toucher
                    echo two >> $d/appended
                    chmod 0600 $d/chmodded
                    chown 1:1 $d/chowned
                    echo new > $d/new && mv $d/new $d/renamed-over
                    rm $d/deleted
                    rm -rf $d/dir && mkdir $d/dir && echo after > $d/dir/inside
                    ln $d/linked $d/linked-too
                    exit 0
                    """
            ])
        try await BuildFixture.withArchive([toucher], list: "@include minbase\nstrata-toucher\n") { tree, server in
            let spec = try TemplateTree(root: tree).load(target: "debian/12", set: "test", architecture: Architecture("amd64"))
            let store = try Store(root: served.store)
            let fetcher = try HTTPFetcher(store: store.blobs)
            let packagers = Packagers.testing
            let lock = try await Planner(
                fetcher: fetcher, mirrors: try MirrorMap.host(packagers: packagers, overrides: []), packagers: packagers
            ).resolve(spec).lockfile
            let work = try TemporaryDirectory.make(prefix: "strata-touched")
            let built = try await Builder(store: store, fetcher: fetcher, packagers: packagers).build(
                spec: spec, lock: lock, output: "\(work)/built.tar", format: .tar(.none), rebuild: true)
            #expect(built.usedOverlay, "the known-object path is the overlay's")
            let commit = try store.readCommit(built.commit)
            let stats = try await Offload.run {
                try Builder.export(commit, from: store, to: "\(work)/objects.tar", format: .tar(.none)) { _ in }
            }
            #expect(stats.digest == built.outputDigest, "the commit's export differs from the build's tar")
            #expect(try SHA256Digest.of(file: "\(work)/built.tar") == built.outputDigest, "the digest said is the file's")

            let listing = try await Command.run(
                "/usr/bin/tar", ["--numeric-owner", "-tvf", "\(work)/objects.tar", "usr/share/toucher"]
            ).stdoutText
            func line(_ path: String) -> String {
                listing.split(separator: "\n").first { $0.hasSuffix("usr/share/toucher/\(path)") }.map(String.init) ?? ""
            }
            func content(_ path: String) async throws -> String {
                try await Command.run("/usr/bin/tar", ["-xOf", "\(work)/objects.tar", "usr/share/toucher/\(path)"]).stdoutText
            }
            #expect(try await content("appended") == "one\ntwo\n")
            #expect(try await content("renamed-over") == "new\n")
            #expect(try await content("dir/inside") == "after\n")
            #expect(try await content("untouched") == "same\n")
            #expect(!listing.contains("toucher/deleted"), "\(listing)")
            #expect(line("chmodded").hasPrefix("-rw------- 0/0 "), "\(listing)")
            #expect(line("chowned").contains(" 1/1 "), "\(listing)")
            #expect(line("untouched").hasPrefix("-rw-r--r-- 0/0 "), "\(listing)")
            // A script's hardlink is not a package's: two files of one content.
            #expect(line("linked-too").hasPrefix("-rw-r--r-- 0/0 "), "\(listing)")
        }
    }
}
