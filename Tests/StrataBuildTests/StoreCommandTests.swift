// Issue 8, items 15 and 16: read-only commands created the store they were pointed at (`strata
// fsck --store /typo` said "store is consistent"), and `strata show` took neither the short ids
// `strata list` prints nor a ref prefix. The real `strata` against stores made here.
import Foundation
import StrataCore
import StrataStore
import StrataTestSupport
import Testing

@Suite("Store commands on the command line")
struct StoreCommandTests {
    static let readers: [[String]] = [["fsck"], ["list"], ["show", "debian/12"], ["gc"], ["gc", "--prune-blobs"]]

    @Test("a read-only command refuses a store that does not exist and creates nothing", arguments: readers)
    func missingStore(command: [String]) async throws {
        let typo = try TemporaryDirectory.make(prefix: "strata-typo") + "/typo"
        let result = try await StrataExecutable.run(command + ["--store", typo])
        #expect(result.exitCode == 1, "\(result.output) \(result.errorOutput)")
        #expect(
            result.errorOutput
                == "strata: error: no store at \(typo) (nothing has been built there; --store or $STRATA_HOME names it)\n"
        )
        #expect(!result.output.contains("consistent"))
        #expect(!FileManager.default.fileExists(atPath: typo), "\(typo) was created")
    }

    @Test("$STRATA_HOME naming no store is refused the same way")
    func missingStoreFromEnvironment() async throws {
        let typo = try TemporaryDirectory.make(prefix: "strata-typo") + "/home"
        let result = try await StrataExecutable.run(["fsck"], environment: ["STRATA_HOME": typo], unsetting: [])
        #expect(result.exitCode == 1)
        #expect(result.errorOutput.contains("no store at \(typo)"))
        #expect(!FileManager.default.fileExists(atPath: typo))
    }

    @Test("strata proxy clean refuses a cache directory that does not exist and creates nothing")
    func missingProxyCache() async throws {
        let typo = try TemporaryDirectory.make(prefix: "strata-typo") + "/cache"
        let result = try await StrataExecutable.run([
            "proxy", "clean", "--cache", typo, "--backend", "x=http://127.0.0.1:1/x",
        ])
        #expect(result.exitCode == 1, "\(result.output) \(result.errorOutput)")
        #expect(result.errorOutput.contains("no proxy cache at \(typo)"), "\(result.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: typo))
    }

    @Test("a store that only downloads have used (strata lock) is a store: list is empty, fsck is clean")
    func lockOnlyStore() async throws {
        let root = try TemporaryDirectory.make(prefix: "strata-lockonly") + "/store"
        _ = try BlobStore(root: root)
        let list = try await StrataExecutable.run(["list", "--store", root])
        #expect(list.exitCode == 0 && list.output.isEmpty, "\(list.errorOutput)")
        let fsck = try await StrataExecutable.run(["fsck", "--store", root])
        #expect(fsck.exitCode == 0 && fsck.output.contains("store is consistent"), "\(fsck.output) \(fsck.errorOutput)")
    }

    /// A store with three refs: debian/12/minbase/amd64, debian/12/standard/amd64, debian/13/minbase/amd64.
    static func storeWithRefs() throws -> (Store, [String: SHA256Digest]) {
        let store = try Store(root: TemporaryDirectory.make(prefix: "strata-show") + "/store")
        let tree = try store.writeTree(TreeManifest(entries: []))
        var refs: [String: SHA256Digest] = [:]
        for (index, name) in ["debian/12/minbase/amd64", "debian/12/standard/amd64", "debian/13/minbase/amd64"]
            .enumerated()
        {
            let commit = try store.writeCommit(
                Commit(
                    tree: tree, origin: ["target": name], metadata: ["packages": "\(index)"], timestamp: Int64(index)))
            try store.setRef(name, to: commit)
            refs[name] = commit
        }
        return (store, refs)
    }

    @Test("show takes the short id strata list prints, a whole id, a ref, and a prefix naming one ref")
    func showNames() async throws {
        let (store, refs) = try Self.storeWithRefs()
        let minbase = try #require(refs["debian/12/minbase/amd64"])
        let trixie = try #require(refs["debian/13/minbase/amd64"])
        let list = try await StrataExecutable.run(["list", "--store", store.root])
        let short = String(minbase.hex.prefix(12))
        #expect(list.output.contains("debian/12/minbase/amd64  \(short)"), "\(list.output)")
        for (name, commit) in [
            (short, minbase), (minbase.hex, minbase), ("debian/12/minbase/amd64", minbase), ("debian/13", trixie),
            ("debian/13/", trixie), (String(trixie.hex.prefix(7)), trixie),
        ] {
            let shown = try await StrataExecutable.run(["show", name, "--store", store.root])
            #expect(shown.exitCode == 0, "show \(name): \(shown.errorOutput)")
            #expect(shown.output.hasPrefix("commit   \(commit.hex)\n"), "show \(name): \(shown.output)")
        }
    }

    @Test("show with an ambiguous prefix lists the candidates; with an unknown name lists the refs")
    func showAmbiguous() async throws {
        let (store, refs) = try Self.storeWithRefs()
        let ambiguous = try await StrataExecutable.run(["show", "debian/12", "--store", store.root])
        #expect(ambiguous.exitCode == 1)
        let message = ambiguous.errorOutput
        #expect(message.hasPrefix("strata: error: 'debian/12' is ambiguous: it could be "), "\(message)")
        for name in ["debian/12/minbase/amd64", "debian/12/standard/amd64"] {
            let commit = try #require(refs[name])
            #expect(message.contains("\(name) (\(commit.hex.prefix(12)))"), "\(message)")
        }
        #expect(!message.contains("debian/13"))

        let unknown = try await StrataExecutable.run(["show", "fedora/40", "--store", store.root])
        #expect(unknown.exitCode == 1)
        #expect(
            unknown.errorOutput.contains(
                "no ref or commit 'fedora/40' in \(store.root) (refs: debian/12/minbase/amd64, "),
            "\(unknown.errorOutput)")
    }
}

@Suite("strata rm")
struct RemoveCommandTests {
    @Test("rm removes a ref by name or unambiguous prefix, refuses an ambiguous or unknown one; gc then frees its commit")
    func remove() async throws {
        let root = try TemporaryDirectory.make(prefix: "strata-rm")
        let store = try Store(root: root)
        let tree = try store.writeTree(TreeManifest(entries: [.directory(".", metadata: FileMetadata(mode: 0o755))]))
        let first = try store.writeCommit(Commit(tree: tree, timestamp: 1))
        let second = try store.writeCommit(Commit(tree: tree, timestamp: 2))
        try store.setRef("debian/12/minbase/amd64", to: first)
        try store.setRef("debian/12/standard/amd64", to: second)
        try store.setRef("debian/13/minbase/amd64", to: second)

        let ambiguous = try await StrataExecutable.run(["rm", "debian/12", "--store", root])
        #expect(ambiguous.exitCode == 1)
        #expect(ambiguous.errorOutput.contains("names 2 refs: debian/12/minbase/amd64, debian/12/standard/amd64"))
        let unknown = try await StrataExecutable.run(["rm", "debian/14", "--store", root])
        #expect(unknown.exitCode == 1 && unknown.errorOutput.contains("no ref 'debian/14'"))
        let removed = try await StrataExecutable.run(["rm", "debian/12/minbase", "debian/13/minbase/amd64", "--store", root])
        #expect(removed.exitCode == 0, "\(removed.errorOutput)")
        #expect(removed.output.contains("removed debian/12/minbase/amd64 (commit \(first.hex.prefix(12)))"))
        #expect(try store.refs().keys.sorted() == ["debian/12/standard/amd64"])
        let gc = try await StrataExecutable.run(["gc", "--store", root])
        #expect(gc.exitCode == 0)
        #expect(!store.containsCommit(first) && store.containsCommit(second))
    }
}
