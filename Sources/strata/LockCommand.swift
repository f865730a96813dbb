import ArgumentParser
import Foundation
import StrataBuild
import StrataCore
import StrataStore

extension Strata {
    struct Lock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a template's package set and pin every package in a lockfile.",
            discussion: """
                Fetches and verifies the template's repository indexes, resolves the set with libsolv \
                choosing as apt does, and writes a JSON lockfile (docs/lockfile.md). With --check, \
                writes nothing and exits 1 when the lockfile no longer matches the template or the \
                repositories, printing the changes (+ added, - removed, ~ changed).
                """)

        @OptionGroup var template: TemplateOptions
        @OptionGroup var storeOptions: StoreOptions

        @Option(name: .shortAndLong, help: "The lockfile; default: DISTRO-VERSION-SET-ARCH.lock.json here.")
        var output: String?

        @Flag(help: "Compare with the existing lockfile instead of writing it; exit 1 when it is out of date.")
        var check = false

        func run() async throws {
            try await reportingErrors {
                let start = Date()
                let spec = try template.load()
                let path = output ?? Lockfile.defaultPath(target: spec.target, set: spec.set, architecture: spec.architecture)
                let resolution = try await storeOptions.planner().resolve(spec)
                let lock = resolution.lockfile
                if check {
                    let old = try Lockfile.read(path)
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
                        + "\(lock.repositories.count) repositories, \(String(format: "%.2f", seconds)) s -> \(path)")
            }
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
