import ArgumentParser
import Foundation
import StrataBuild
import StrataCore
import StrataPackaging
import StrataStore

extension Strata {
    struct Lock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a template's package set and pin every package in a lockfile.",
            discussion: """
                Fetches and verifies the template's repository indexes, resolves the set with libsolv \
                choosing as apt does, and writes a JSON lockfile (docs/lockfile.md). When the signed \
                indexes, the template and strata are those of a lock resolved before, that lock is \
                the answer (--resolve solves anyway).

                With --check, writes nothing and exits as diff(1) does: 0 when the lockfile is up to \
                date, 1 when it no longer matches the template or the repositories (printing the \
                changes: + added, - removed, ~ changed), 2 when it could not check (no or unreadable \
                lockfile, a repository that cannot be reached, a signature that does not verify, a \
                template error).
                """)

        @OptionGroup var template: TemplateOptions
        @OptionGroup var storeOptions: StoreOptions

        @Option(name: .shortAndLong, help: "The lockfile; default: DISTRO-VERSION-SET-ARCH.lock.json here.")
        var output: String?

        @Flag(help: "Compare with the existing lockfile instead of writing it; exit 0 when up to date, 1 when out of date, 2 when it could not check.")
        var check = false

        @Flag(help: "Solve even when the store has a lock resolved from the same inputs (signed indexes, template, strata build).")
        var resolve = false

        @Flag(name: .shortAndLong, help: "Print no warnings (errors and the result are still printed).")
        var quiet = false

        func run() async throws {
            try await reportingErrors(quiet: quiet, failure: check ? 2 : nil) {
                let start = Date()
                let spec = try template.load()
                try Planner.refuseApplication(spec)
                let path = output ?? Lockfile.defaultPath(target: spec.target, set: spec.set, architecture: spec.architecture)
                // Read before resolving: a missing or broken lockfile needs no network to report.
                let old = try check ? Self.readForCheck(path) : nil
                let resolution = try await storeOptions.planner().resolve(spec, resolveAgain: resolve)
                let lock = resolution.lockfile
                if let old {
                    let changes = lock.changes(since: old)
                    if changes.isEmpty {
                        print("\(path): up to date (\(lock.packages.count) packages)")
                        return
                    }
                    print("\(path): out of date:")
                    changes.forEach { print($0) }
                    throw ExitCode(1)
                }
                try FileSystem.writeAtomically(try lock.encoded(), to: path)
                let bytes = lock.packages.reduce(UInt64(0)) { $0 + $1.size }
                let seconds = Date().timeIntervalSince(start)
                print(
                    "locked \(spec.target) --set \(spec.set) (\(spec.architecture)): \(lock.packages.count) packages, "
                        + "\(ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .file)) to download, "
                        + "\(lock.repositories.count) repositories, \(String(format: "%.2f", seconds)) s"
                        + (resolution.reused ? " (the same inputs as a lock in the store: not solved again)" : "")
                        + " -> \(path)")
            }
        }

        private static func readForCheck(_ path: String) throws -> Lockfile {
            guard FileManager.default.fileExists(atPath: path) else {
                throw StrataError(.notFound, "\(path): no lockfile to check (write one with `strata lock` first, or name it with -o)")
            }
            return try Lockfile.read(path)
        }
    }
}

extension Lockfile {
    /// `debian-12-minbase-amd64.lock.json`.
    static func defaultPath(target: String, set: String, architecture: Architecture) -> String {
        let base = target.split(separator: "/").prefix(2).joined(separator: "-")
        return "\(base)-\(set)-\(architecture.debian).lock.json"
    }
}
