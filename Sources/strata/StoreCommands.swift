import ArgumentParser
import Foundation
import StrataBuild
import StrataCore
import StrataPackaging
import StrataStore

extension Strata {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the templates in the store (refs and their commits).")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await reportingErrors {
                let store = try storeOptions.existingStore()
                for (name, commit) in try store.refs().sorted(by: { $0.key < $1.key }) {
                    let info = try store.readCommit(commit)
                    print("\(name)  \(commit.hex.prefix(12))  \(info.metadata["packages"] ?? "?") packages")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a template's commit: origin, lockfile digest, tree; or its SBOM (--sbom).")
        @Argument(
            help: "A ref (debian/12/minbase/amd64), a prefix naming one ref (debian/12), or a commit id or its prefix (as `strata list` prints).")
        var ref: String
        @Option(
            name: .long,
            help: "Print the template's SBOM instead (spdx or cyclonedx), the same bytes its build wrote beside its output.")
        var sbom: String?
        @OptionGroup var storeOptions: StoreOptions

        func validate() throws {
            if let sbom, SBOMFormat(rawValue: sbom) == nil { throw ValidationError("--sbom must be spdx or cyclonedx, not '\(sbom)'") }
        }

        func run() async throws {
            try await reportingErrors {
                let store = try storeOptions.existingStore()
                let id = try store.resolveCommit(ref)
                let commit = try store.readCommit(id)
                if let sbom, let format = SBOMFormat(rawValue: sbom) {
                    let document = try Builder.sbom(of: commit, in: store, packagers: .shipped).encoded(format)
                    FileHandle.standardOutput.write(Data(document))
                    return
                }
                let tree = try store.readTree(commit.tree)
                print("commit   \(id.hex)")
                print("tree     \(commit.tree.hex) (\(tree.entries.count) entries)")
                if let lock = commit.lockDigest { print("lock     sha256 \(lock.hex)") }
                for parent in commit.parents { print("parent   \(parent.hex)") }
                print("time     \(commit.timestamp) (SOURCE_DATE_EPOCH)")
                for (key, value) in commit.origin.sorted(by: { $0.key < $1.key }) { print("origin   \(key): \(value)") }
                for (key, value) in commit.metadata.sorted(by: { $0.key < $1.key }) { print("meta     \(key): \(value)") }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a committed template out again, byte-identical to the build that made it.")
        @Argument(help: "A ref (debian/12/minbase/amd64), a prefix naming one ref, or a commit id or its prefix.")
        var ref: String
        @Option(name: .shortAndLong, help: "Where to write: a name with the format's suffix, or DIR/ for a directory.")
        var output: String
        @Option(help: "The output format: \(OutputTarget.formatNames); default: from the name.")
        var format: String?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var sbomOptions: SBOMOptions

        func run() async throws {
            try await reportingErrors {
                let store = try storeOptions.existingStore()
                let id = try store.resolveCommit(ref)
                let commit = try store.readCommit(id)
                let target = try OutputTarget.resolve(output: output, format: format, defaultBase: "export")
                try target.checkWritable()
                let start = Date()
                let sbom = (formats: try sbomOptions.formats, packagers: Packagers.shipped)
                let stats = try await Offload.run {
                    try Builder.export(commit, from: store, to: target.path, format: target.format, sbom: sbom) { _ in }
                }
                let digest = stats.digest.map { " sha256 \($0.hex)" } ?? ""
                let size = ByteCountFormatter.string(fromByteCount: Int64(stats.bytes), countStyle: .file)
                print(
                    "exported \(id.hex.prefix(12)) (\(commit.origin["target"] ?? "?") --set \(commit.origin["set"] ?? "?")): "
                        + "\(stats.files) files, \(size), \(String(format: "%.1f", Date().timeIntervalSince(start))) s -> "
                        + "\(target.path)\(digest)")
            }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Remove store objects, trees and commits that no ref reaches; optionally unused package blobs.")
        @Flag(help: "Also remove downloaded packages that no imported package or index record uses.") var pruneBlobs = false
        @Option(help: "Keep only this many commits of each template's history (1: the current build only); default: all.")
        var keepHistory: Int?

        func validate() throws {
            if let keepHistory, keepHistory < 1 { throw ValidationError("--keep-history must be 1 or more") }
        }
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await reportingErrors {
                let store = try storeOptions.existingStore()
                let scratch = Scratch.removeAbandoned(storeRoot: store.root, includingKept: true)
                let report = try store.gc(pruneBlobs: pruneBlobs, keepHistory: keepHistory)
                print(
                    "removed \(scratch) abandoned or kept build trees, \(report.commitsRemoved) commits, \(report.treesRemoved) trees, \(report.objectsRemoved) objects, "
                        + "\(report.blobsRemoved) blobs, \(report.temporaryFilesRemoved) stale temporary files, "
                        + "\(report.recordsRemoved) package records, \(report.solverCachesRemoved) solver caches, "
                        + "\(report.logsRemoved) old logs, \(report.cachedResultsRemoved) cached verifications and locks; "
                        + "freed \(ByteCountFormatter.string(fromByteCount: Int64(report.bytesFreed), countStyle: .file)); "
                        + "kept \(report.commitsKept) commits, \(report.treesKept) trees, \(report.objectsKept) objects")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove templates from the store (their refs); `strata gc` then frees what only they used.")
        @Argument(help: "Refs (debian/12/minbase/amd64) or unambiguous ref prefixes.") var refs: [String]
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await reportingErrors {
                let store = try storeOptions.existingStore()
                for name in refs {
                    let all = try store.refs()
                    let prefix = name.hasSuffix("/") ? name : name + "/"
                    let matches = all.keys.filter { $0.hasPrefix(prefix) }.sorted()
                    let ref: String
                    if all[name] != nil {
                        ref = name
                    } else if matches.count == 1, let only = matches.first {
                        ref = only
                    } else if matches.isEmpty {
                        throw StrataError(.notFound, "no ref '\(name)' in \(store.root) (strata list shows them)")
                    } else {
                        throw StrataError(
                            .invalidInput, "'\(name)' names \(matches.count) refs: \(matches.joined(separator: ", ")); give one")
                    }
                    let commit = all[ref]
                    _ = try store.withWriterLock { try store.deleteRef(ref) }
                    print("removed \(ref)\(commit.map { " (commit \($0.hex.prefix(12)))" } ?? "")")
                }
                print("`strata gc` frees what only they used")
            }
        }
    }

    struct Fsck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every blob, object, tree, commit and ref of the store; exit 1 on any problem.")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await reportingErrors {
                let report = try storeOptions.existingStore().fsck()
                report.notes.forEach { print("note: \($0)") }
                report.problems.forEach { print("problem: \($0)") }
                print(report.isClean ? "store is consistent" : "\(report.problems.count) problems")
                if !report.isClean { throw ExitCode(1) }
            }
        }
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> any Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
