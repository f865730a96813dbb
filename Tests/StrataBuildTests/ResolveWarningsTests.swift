import Foundation
@testable import StrataBuild
import StrataCore
import StrataDeb
import StrataPackaging
import StrataStore
import StrataTemplate
import StrataTestSupport
import Testing

@Suite("What resolution says about the lists: drops that do nothing, names that do not exist")
struct ResolveWarningsTests {
    @Test("'name-' of a package something else depends on is warned about, with file:line and what pulls it in")
    func ineffectiveDrop() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\nlibc-mini-\n"])
            // The second lock of the same inputs is the one kept in the store: it says the same.
            let store = try TemporaryDirectory.make(prefix: "strata-store")
            for round in 1...2 {
                let lines = LockedBox([String]())
                let (resolution, _) = try await Diagnostics.$collector.withValue(Diagnostics.Collector { line in lines.update { $0.append(line) } }) {
                    try await FixtureTemplate.lock(tree: tree, set: "s", store: store)
                }
                #expect(resolution.reused == (round == 2))
                #expect(resolution.lockfile.packages.contains { $0.name == "libc-mini" })
                let warning = try #require(lines.get().first { $0.contains("'libc-mini-' has no effect") }, "\(lines.get())")
                #expect(warning.contains("fixture/1/config/s.list:2: "), "\(warning)")
                #expect(warning.contains("is requested by the set 's'") && warning.contains("-> libc-mini"), "\(warning)")
            }
        }
    }

    @Test("a package name no repository has gets the list's file:line and a did-you-mean")
    func unknownName() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(
                baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\nmointor\n"])
            let error = await #expect(throws: StrataError.self) { try await FixtureTemplate.lock(tree: tree, set: "s") }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("fixture/1/config/s.list:2: ") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("no package named 'mointor'") == true)
            #expect(error?.message.contains("(did you mean 'monitor'?)") == true, "\(error?.message ?? "")")
        }
    }
}

@Suite("The apt sources written into the image")
struct ImageSourcesTests {
    static func repository(_ name: String, url: String) -> Lockfile.Repository {
        Lockfile.Repository(
            name: name, url: url, suite: "stable",
            release: .init(path: "dists/stable/InRelease", sha256: SHA256Digest.of([UInt8]()), size: nil), date: nil,
            indexes: [])
    }

    @Test("trusted is Trusted: yes; image-url replaces the URL or leaves it out; file: URLs stay on the build host")
    func sources() throws {
        let root = try TemporaryDirectory.make(prefix: "strata-sources")
        let keyring = try TemporaryDirectory.make(prefix: "strata-keyring") + "/extra.gpg"
        try Data([0x99, 0x01, 0x0d]).write(to: URL(fileURLWithPath: keyring))
        let specs = [
            RepositorySpec(name: "signed", url: "http://127.0.0.1:9/a", suite: "stable", components: ["main"], keyring: keyring),
            RepositorySpec(name: "loose", url: "http://127.0.0.1:9/b", suite: "stable", components: ["main"], keyring: keyring, trusted: true),
            RepositorySpec(name: "local", url: "file:///srv/c", suite: "stable", components: ["main"], keyring: keyring),
            RepositorySpec(
                name: "moved", url: "file:///srv/d", suite: "stable", components: ["main", "contrib"], keyring: keyring,
                imageURL: "http://repo.invalid/d"),
            RepositorySpec(name: "gone", url: "http://127.0.0.1:9/e", suite: "stable", imageURL: RepositorySpec.notInImage),
        ]
        let locked = specs.map { Self.repository($0.name, url: $0.url ?? "") }
        let leftOut = try AptSources.write(root: root, repositories: locked, specs: specs)
        #expect(leftOut.count == 2)
        #expect(leftOut.contains { $0.contains("'local'") && $0.contains("set image-url") })
        #expect(leftOut.contains { $0.contains("'gone'") && $0.contains("image-url: none") })
        let text = try String(contentsOfFile: "\(root)/etc/apt/sources.list.d/strata.sources", encoding: .utf8)
        let stanzas = text.components(separatedBy: "\n\n")
        #expect(stanzas.count == 3, "\(text)")
        let signed = try #require(stanzas.first { $0.contains("127.0.0.1:9/a") })
        #expect(signed.contains("Signed-By: /etc/apt/keyrings/strata-signed.gpg"), "the keyring copied into the image")
        #expect(try FileReader.readAll("\(root)/etc/apt/keyrings/strata-signed.gpg") == FileReader.readAll(keyring))
        let loose = try #require(stanzas.first { $0.contains("127.0.0.1:9/b") })
        #expect(loose.contains("Trusted: yes") && !loose.contains("Signed-By"), "\(loose)")
        let moved = try #require(stanzas.first { $0.contains("repo.invalid/d") })
        #expect(moved.contains("Components: main contrib") && !text.contains("file://"))

        // A keyring the tree has at the same path (a keyring package installed it) is named there.
        let inTree = "\(root)\(keyring)"
        try FileManager.default.createDirectory(atPath: (inTree as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: keyring, toPath: inTree)
        _ = try AptSources.write(root: root, repositories: [locked[0]], specs: [specs[0]])
        let again = try String(contentsOfFile: "\(root)/etc/apt/sources.list.d/strata.sources", encoding: .utf8)
        #expect(again.contains("Signed-By: \(keyring)\n"), "\(again)")
    }
}

@Suite("--include")
struct IncludeTests {
    @Test("--include adds packages for this once, as a set of its own name, with its own lockfile")
    func include() async throws {
        let repo = try await DebFixtureRepo.standard()
        try await LoopbackHTTPServer.withServer(serving: repo.root) { server in
            let tree = try FixtureTemplate.make(baseURL: server.baseURL, keyring: repo.key?.keyringPath, sets: ["s": "app\nmonitor-\n"])
            let dir = try TemporaryDirectory.make(prefix: "strata-include")
            let result = try await StrataExecutable.run(
                ["lock", "fixture/1", "--set", "s", "--include", "monitor,script-tool", "--templates", tree, "--store", "\(dir)/store"],
                directory: dir)
            #expect(result.exitCode == 0, "\(result.errorOutput)")
            let lock = try Lockfile.read("\(dir)/fixture-1-s+monitor+script-tool-amd64.lock.json")
            #expect(lock.set == "s+monitor+script-tool")
            let names = Set(lock.packages.map(\.name))
            #expect(names.isSuperset(of: ["app", "monitor", "script-tool"]), "the drop of monitor is undone by --include")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/fixture-1-s-amd64.lock.json"), "the plain set's lockfile is not touched")
            let bad = try await StrataExecutable.run(
                ["lock", "fixture/1", "--set", "s", "--include", "mointor", "--templates", tree, "--store", "\(dir)/store"],
                directory: dir)
            #expect(bad.exitCode == 1)
            #expect(bad.errorOutput.contains("--include: ") && bad.errorOutput.contains("(did you mean 'monitor'?)"), "\(bad.errorOutput)")
            let invalid = try await StrataExecutable.run(
                ["lock", "fixture/1", "--set", "s", "--include", "../etc", "--templates", tree, "--store", "\(dir)/store"], directory: dir)
            #expect(invalid.exitCode == 1 && invalid.errorOutput.contains("not a package name"), "\(invalid.errorOutput)")
        }
    }
}
