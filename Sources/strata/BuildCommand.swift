import ArgumentParser
import Foundation
import StrataArchive
import StrataBuild
import StrataCore
import StrataFetch
import StrataStore

extension Strata {
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a template: fetch, import, compose, configure, finalize, export.",
            discussion: """
                Uses the lockfile when one exists (default DISTRO-VERSION-SET-ARCH.lock.json here) and \
                writes one when none does. A lockfile whose template configuration no longer matches is \
                re-resolved and rewritten, unless --locked is given, which refuses it instead.
                """)

        @OptionGroup var template: TemplateOptions
        @OptionGroup var storeOptions: StoreOptions

        @Option(name: .shortAndLong, help: "The output; default: DISTRO-VERSION-SET-ARCH.tar.zst (or a directory for --format dir).")
        var output: String?

        @Option(help: "tar, tar.gz, tar.zst, tar.xz or dir; default: from the output's name, else tar.zst.")
        var format: String?

        @Option(help: "The lockfile to use or write.")
        var lock: String?

        @Flag(help: "Refuse a lockfile that no longer matches the template instead of re-resolving.")
        var locked = false

        @Flag(name: .shortAndLong, help: "Print only the summary line.")
        var quiet = false

        func validate() throws {
            if let format, Builder.OutputFormat(name: format) == nil {
                throw ValidationError("--format must be tar, tar.gz, tar.zst, tar.xz or dir, not '\(format)'")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let start = Date()
                let spec = try template.load()
                let lockPath = lock ?? Lockfile.defaultPath(target: spec.target, set: spec.set, architecture: spec.architecture)
                let chosenFormat = format.flatMap(Builder.OutputFormat.init(name:)) ?? Self.format(of: output) ?? .tar(.zstd)
                let outputPath = output ?? Self.defaultOutput(lockPath: lockPath, format: chosenFormat)
                let report = Reporter(quiet: quiet)
                let planner = try storeOptions.planner()

                var lockfile: Lockfile
                if FileManager.default.fileExists(atPath: lockPath) {
                    lockfile = try Lockfile.read(lockPath)
                    if lockfile.configDigest != spec.configDigest || lockfile.target != spec.target || lockfile.set != spec.set {
                        if locked {
                            throw StrataError(
                                .verificationFailed,
                                "\(lockPath) does not match the template any more (its configuration changed); run `strata lock` or drop --locked")
                        }
                        report.line("lock: \(lockPath) is out of date for the template; resolving again")
                        lockfile = try await planner.resolve(spec).lockfile
                        try FileSystem.writeAtomically(try lockfile.encoded(), to: lockPath)
                    }
                } else {
                    if locked { throw StrataError(.notFound, "\(lockPath): no lockfile (--locked needs one)") }
                    report.line("lock: resolving \(spec.target) --set \(spec.set)")
                    lockfile = try await planner.resolve(spec).lockfile
                    try FileSystem.writeAtomically(try lockfile.encoded(), to: lockPath)
                }

                let store = try Store(root: storeOptions.storeRoot)
                let builder = Builder(store: store, fetcher: planner.fetcher) { report.line($0) }
                // Fetch from the mirrors as resolved now (--mirror), not only where the lock was made.
                var urls = [String: String]()
                for repository in spec.repositories { urls[repository.name] = try? planner.mirrors.url(for: repository) }
                let result = try await builder.build(
                    spec: spec, lock: lockfile, output: outputPath, format: chosenFormat, urls: urls)
                let seconds = Date().timeIntervalSince(start)
                let size = ByteCountFormatter.string(fromByteCount: Int64(result.bytes), countStyle: .file)
                let digest = result.outputDigest.map { " sha256 \($0.hex)" } ?? ""
                print(
                    "built \(spec.target) --set \(spec.set) (\(spec.architecture)): \(result.packages) packages "
                        + "(\(result.imported) newly imported), \(result.files) files, \(size), "
                        + "\(String(format: "%.1f", seconds)) s -> \(result.output)\(digest)")
            }
        }

        static func format(of output: String?) -> Builder.OutputFormat? {
            guard let output else { return nil }
            for name in ["tar.gz", "tar.zst", "tar.xz", "tar"] where output.hasSuffix(".\(name)") {
                return Builder.OutputFormat(name: name)
            }
            return nil
        }

        static func defaultOutput(lockPath: String, format: Builder.OutputFormat) -> String {
            let base = lockPath.hasSuffix(".lock.json") ? String(lockPath.dropLast(10)) : lockPath
            switch format {
            case .directory: return base
            case .tar(let compression): return base + ".tar" + (compression == .none ? "" : ".\(compression.fileExtension)")
            }
        }
    }
}

/// Stage lines on stderr: rewritten in place on a terminal, one per line otherwise, none when quiet.
struct Reporter: Sendable {
    let quiet: Bool
    let terminal = isatty(STDERR_FILENO) == 1

    func line(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((terminal ? "\r\u{1b}[K\(text)" : "\(text)\n").utf8))
    }
}
