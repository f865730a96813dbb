import Foundation
import StrataCore
import StrataStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Refs and the writer lock")
struct StoreRefAndLockTests {
    @Test("a store opened by a relative path has an absolute root (tools in build trees need one)")
    func relativeRoot() throws {
        let target = NSTemporaryDirectory() + "strata-store-rel-\(UUID().uuidString)"
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + target.drop { $0 == "/" }
        let store = try Store(root: relative)
        #expect(store.root.hasPrefix("/"))
        #expect(FileManager.default.fileExists(atPath: "\(target)/refs"))
        #expect(try Store(existing: relative).root.hasPrefix("/"))
    }

    func commit(_ store: Store, _ timestamp: Int64) throws -> SHA256Digest {
        let tree = try store.writeTree(TreeManifest(entries: [.directory(".", metadata: FileMetadata(mode: 0o755))]))
        return try store.writeCommit(Commit(tree: tree, timestamp: timestamp))
    }

    @Test("refs are set, replaced, listed and deleted")
    func refs() throws {
        let store = try makeStore()
        let first = try commit(store, 1)
        let second = try commit(store, 2)
        try store.setRef("debian/12/minbase/amd64", to: first)
        try store.setRef("fedora/41/minimal/x86_64", to: first)
        try store.setRef("debian/12/minbase/amd64", to: second)
        #expect(try store.ref("debian/12/minbase/amd64") == second)
        #expect(try store.ref("debian/13/minbase/amd64") == nil)
        #expect(try store.refs() == ["debian/12/minbase/amd64": second, "fedora/41/minimal/x86_64": first])
        #expect(try FileReader.readAll("\(store.root)/refs/debian/12/minbase/amd64") == Array("\(second.hex)\n".utf8))
        #expect(try store.deleteRef("debian/12/minbase/amd64"))
        #expect(try !store.deleteRef("debian/12/minbase/amd64"))
        #expect(!FileManager.default.fileExists(atPath: "\(store.root)/refs/debian"))
        #expect(try store.refs() == ["fedora/41/minimal/x86_64": first])
        #expect(try filesIn("\(store.root)/tmp").isEmpty)
    }

    @Test(
        "bad ref names are refused",
        arguments: ["../escape", "a/../b", "/abs", "a//b", "a/", "", ".hidden", "sp ace", "a/./b"])
    func badNames(_ name: String) throws {
        let store = try makeStore()
        let id = try commit(store, 1)
        let error = #expect(throws: StrataError.self) { try store.setRef(name, to: id) }
        #expect(error?.code == .invalidInput)
        #expect(try filesIn("\(store.root)/refs").isEmpty)
    }

    @Test("a ref cannot be both a name and a directory of other refs, nor point at a missing commit")
    func clashes() throws {
        let store = try makeStore()
        let id = try commit(store, 1)
        try store.setRef("debian/12", to: id)
        #expect(
            (#expect(throws: StrataError.self) { try store.setRef("debian/12/minbase", to: id) })?.code == .invalidInput
        )
        #expect((#expect(throws: StrataError.self) { try store.setRef("debian", to: id) })?.code == .invalidInput)
        let missing = SHA256Digest.of([1, 2, 3])
        #expect((#expect(throws: StrataError.self) { try store.setRef("x", to: missing) })?.code == .notFound)
    }

    /// Runs `flock -n <lock> true`: 0 when the lock is free, 1 when someone holds it.
    func probe(_ store: Store) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        process.arguments = ["-n", "\(store.root)/lock", "true"]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(
        "another process cannot take the writer lock while it is held",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func lockExcludesProcesses() throws {
        let store = try makeStore()
        let whileHeld = try store.withWriterLock { try probe(store) }
        #expect(whileHeld == 1)
        #expect(try probe(store) == 0)
    }

    @Test("two tasks taking the writer lock run one after the other")
    func lockSerialisesTasks() async throws {
        let store = try makeStore()
        let log = Log()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<4 {
                group.addTask {
                    try await store.withWriterLock {
                        await log.append("start \(n)")
                        try await Task.sleep(nanoseconds: 20_000_000)
                        await log.append("end \(n)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let lines = await log.lines
        #expect(lines.count == 8)
        for pair in stride(from: 0, to: lines.count, by: 2) {
            #expect(lines[pair].hasPrefix("start"))
            #expect(lines[pair + 1] == "end" + lines[pair].dropFirst("start".count))
        }
    }
}

actor Log {
    var lines = [String]()
    func append(_ line: String) { lines.append(line) }
}
