import ArgumentParser
import Foundation
import StrataArchive
import StrataBuild
import StrataCore
import StrataPackaging
import StrataFetch
import StrataStore
import StrataTemplate

extension Strata {
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a template: fetch, import, compose, configure, finalize, export.",
            discussion: """
                Uses the lockfile when one exists (default DISTRO-VERSION-SET-ARCH.lock.json here) and \
                writes one when none does. A lockfile in use is named with the age of its indexes, and \
                the repositories are asked how many packages newer indexes would change (not with \
                --locked). A lockfile whose template configuration no longer matches is re-resolved and \
                rewritten, unless --locked is given, which refuses it instead. A lockfile of another \
                target, set or architecture is refused. SOURCE_DATE_EPOCH, when set, is the time every \
                mtime is clamped to (default: the newest index date in the lockfile).
                """)

        @OptionGroup var template: TemplateOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var sbomOptions: SBOMOptions

        @Option(
            name: .shortAndLong,
            help: "The output: NAME.tar, .tar.gz/.tgz, .tar.zst/.tzst, .tar.xz/.txz, or DIR/ (a new or empty directory); default: DISTRO-VERSION-SET-ARCH.tar.zst.")
        var output: String?

        @Option(help: "\(OutputTarget.formatNames); default: from the output's name, else tar.zst.")
        var format: String?

        @Option(help: "The lockfile to use or write.")
        var lock: String?

        @Flag(help: "Build exactly the lockfile: refuse one that no longer matches the template, and do not ask the repositories whether it is stale.")
        var locked = false

        @Option(help: "A shell command run on the host after the maintainer scripts, with the tree as $1 (repeatable), as mmdebstrap's --customize-hook.")
        var customizeHook: [String] = []

        @Option(help: "A shell script run inside the tree after the maintainer scripts, confined as they are (repeatable).")
        var chrootHook: [String] = []

        @Option(help: "A directory of hooks: files named customize-host* run on the host, customize-chroot* inside the tree, in name order.")
        var hookDir: String?

        @Flag(help: "When a maintainer script or a later stage fails, keep the tree (mounted) for inspection; `strata gc` removes it.")
        var keepFailed = false

        @Flag(help: "Run every stage even when the store holds a build of this very lockfile and template (which is otherwise exported as it is).")
        var rebuild = false

        @Flag(name: .shortAndLong, help: "Print only the summary line (and errors).")
        var quiet = false

        func validate() throws {
            if let format, OutputTarget.format(named: format) == nil {
                throw ValidationError("--format must be \(OutputTarget.formatNames), not '\(format)'")
            }
        }

        func run() async throws {
            Interruption.install()
            let report = Reporter(quiet: quiet)
            // A warning on a terminal first clears the stage line it would otherwise be glued to.
            let shown = LockedBox<Diagnostics.Sink?>(nil)
            shown.set(Diagnostics.setSink { line in
                report.clear()
                shown.get()?(line)
            })
            defer { report.clear() }
            try await reportingErrors(quiet: quiet) { try await report.clearingOnError {
                let start = Date()
                let epoch = try SourceDateEpoch.fromEnvironment()
                var extraHooks = try hookDir.map(CustomizeHook.load(directory:)) ?? []
                extraHooks += customizeHook.enumerated().map {
                    CustomizeHook(place: .host, name: "--customize-hook #\($0.offset + 1)", script: $0.element)
                }
                extraHooks += chrootHook.enumerated().map {
                    CustomizeHook(place: .chroot, name: "--chroot-hook #\($0.offset + 1)", script: $0.element)
                }
                let spec = try template.load().addingHooks(extraHooks)
                if spec.base != nil {
                    if lock != nil || locked { try Planner.refuseApplication(spec, "built from a lockfile (--lock, --locked)") }
                    if !extraHooks.isEmpty {
                        throw StrataError(.invalidInput, "set \(spec.set) is an application template: hooks are not run by layers yet")
                    }
                }
                let lockPath = lock ?? Lockfile.defaultPath(target: spec.target, set: spec.set, architecture: spec.architecture)
                let base = lockPath.hasSuffix(".lock.json") ? String(lockPath.dropLast(10)) : lockPath
                let target = try OutputTarget.resolve(
                    output: output, format: format, defaultBase: (base as NSString).lastPathComponent)
                try Preflight.check(output: target, architecture: spec.architecture)
                let planner = try storeOptions.planner()
                try planner.mirrors.check(spec)
                let store = try Store(root: storeOptions.storeRoot)
                var builder = Builder(store: store, fetcher: planner.fetcher, packagers: planner.packagers) { report.line($0) }
                builder.sbomFormats = try sbomOptions.formats
                // Fetch from the mirrors as resolved now (--mirror), not only where the lock was made.
                var urls = [String: String]()
                for repository in spec.repositories { urls[repository.name] = try? planner.mirrors.url(for: repository) }

                let result: Builder.Result
                var what: String
                if spec.base != nil {
                    let tree = TemplateTree(root: try TemplateTree.existingRoot(explicit: template.templates))
                    let (layer, bases) = try await builder.buildApplication(
                        spec, tree: tree, output: target.path, format: target.format, urls: urls, sourceDateEpoch: epoch,
                        keepFailed: keepFailed, rebuild: rebuild
                    ) { baseSpec in
                        let baseLock = try await lockfile(
                            for: baseSpec, at: Lockfile.defaultPath(
                                target: baseSpec.target, set: baseSpec.set, architecture: baseSpec.architecture),
                            planner: planner, report: report)
                        return try await builder.build(
                            spec: baseSpec, lock: baseLock, output: "", format: .storeOnly, urls: urls, sourceDateEpoch: epoch,
                            keepFailed: keepFailed, rebuild: rebuild
                        ).commit
                    }
                    result = layer.build
                    let added = layer.layered.map { "\($0.name) \($0.version)" }.joined(separator: ", ")
                    what = layer.build.reused ? "(unchanged: the committed layer exported), " : "layered onto \(spec.base ?? "") (\(layer.layered.count) added"
                        + (added.isEmpty ? "" : ": \(added)")
                        + (layer.removed.isEmpty ? "" : "; removed \(layer.removed.joined(separator: ", "))")
                        + (layer.inactive.isEmpty ? "" : "; inactive: \(layer.inactive.keys.sorted().joined(separator: ", "))")
                        + (bases.isEmpty ? "" : "; built first: \(bases.joined(separator: ", "))") + "), "
                } else {
                    let lockfile = try await lockfile(for: spec, at: lockPath, planner: planner, report: report)
                    result = try await builder.build(
                        spec: spec, lock: lockfile, output: target.path, format: target.format, urls: urls,
                        sourceDateEpoch: epoch, keepFailed: keepFailed, rebuild: rebuild)
                    what =
                        result.reused
                        ? "(unchanged: the committed tree exported; fetch, import, compose, configure skipped), "
                        : result.imported == 0
                            ? "(0 newly imported: every package was already in the store), "
                            : "(\(result.imported) newly imported), "
                }
                let seconds = Date().timeIntervalSince(start)
                let size = ByteCountFormatter.string(fromByteCount: Int64(result.bytes), countStyle: .file)
                let digest = result.outputDigest.map { " sha256 \($0.hex)" } ?? ""
                report.clear()
                print(
                    "built \(spec.target) --set \(spec.set) (\(spec.architecture)): \(result.packages) packages \(what)"
                        + "\(result.files) files, \(size), "
                        + "\(String(format: "%.1f", seconds)) s -> \(result.output)\(digest)")
                let times = report.stageTimes()
                if !times.isEmpty { report.note("stages: \(times)") }
            } }
        }

        /// The lockfile `spec` builds from: the one at `lockPath` when it matches the template
        /// (asking the repositories whether it is stale, unless --locked), else resolved now and
        /// written there.
        func lockfile(for spec: TemplateSpec, at lockPath: String, planner: Planner, report: Reporter) async throws -> Lockfile {
            guard FileManager.default.fileExists(atPath: lockPath) else {
                if locked { throw StrataError(.notFound, "\(lockPath): no lockfile (--locked needs one)") }
                report.line("lock: resolving \(spec.target) --set \(spec.set)")
                let lockfile = try await planner.resolve(spec, resolveAgain: rebuild).lockfile
                try FileSystem.writeAtomically(try lockfile.encoded(), to: lockPath)
                return lockfile
            }
            var lockfile = try Lockfile.read(lockPath)
            try lockfile.requireFor(spec, path: lockPath)
            if lockfile.configDigest != spec.configDigest {
                if locked {
                    throw StrataError(
                        .verificationFailed,
                        "\(lockPath) does not match the template any more (its configuration changed); run `strata lock` or drop --locked")
                }
                report.line("lock: \(lockPath) is out of date for the template; resolving again")
                lockfile = try await planner.resolve(spec, resolveAgain: rebuild).lockfile
                try FileSystem.writeAtomically(try lockfile.encoded(), to: lockPath)
            } else {
                report.note("lock: using \(lockPath) (\(lockfile.ageDescription()))")
                if !locked {
                    report.line("lock: asking the repositories whether newer indexes change it")
                    report.note("lock: \(await planner.staleness(of: lockfile, for: spec, resolveAgain: rebuild))")
                }
            }
            return lockfile
        }
    }
}

/// Stage lines on stderr: rewritten in place on a terminal, one per line otherwise, none when
/// quiet. A stage line left on a terminal is cleared before anything else is printed.
final class Reporter: Sendable {
    let quiet: Bool
    let terminal = isatty(STDERR_FILENO) == 1
    /// Whether a stage line is on the terminal's last line now.
    private let pending = LockedBox(false)

    /// Each stage (`fetch` of `fetch: …`) in the order it began, its seconds so far, and the one
    /// running now with its start.
    private let stages = LockedBox(
        (order: [String](), seconds: [String: Double](), current: String?.none, since: Date?.none))

    init(quiet: Bool) { self.quiet = quiet }

    /// Notes the stage a line belongs to: a line of another stage ends the one before.
    private func track(_ text: String) {
        // `stage: detail`, or a line that is a stage's name alone (`finalize`).
        let stage = String(text[..<(text.firstIndex(of: ":") ?? text.endIndex)])
        guard !stage.isEmpty, !stage.contains(" ") else { return }
        let now = Date()
        stages.update { state in
            guard state.current != stage else { return }
            if let current = state.current, let since = state.since {
                state.seconds[current, default: 0] += now.timeIntervalSince(since)
            }
            if !state.order.contains(stage) { state.order.append(stage) }
            state.current = stage
            state.since = now
        }
    }

    /// `fetch 0.19 s, import 6.42 s, …`: each stage's time, the running one ended now.
    func stageTimes() -> String {
        track("end:")
        return stages.get().order.filter { $0 != "end" }.map { stage in
            "\(stage) \(String(format: "%.2f", stages.get().seconds[stage] ?? 0)) s"
        }.joined(separator: ", ")
    }

    /// A transient stage line.
    func line(_ text: String) {
        track(text)
        guard !quiet else { return }
        if terminal {
            pending.set(true)
            FileHandle.standardError.write(Data("\r\u{1b}[K\(text)".utf8))
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    /// A line that stays, also on a terminal.
    func note(_ text: String) {
        track(text)
        guard !quiet else { return }
        clear()
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }

    /// Runs `body`, clearing a stage line before its error is printed.
    func clearingOnError(_ body: () async throws -> Void) async throws {
        do { try await body() } catch {
            clear()
            throw error
        }
    }

    /// Clears a stage line left on the terminal.
    func clear() {
        guard terminal, pending.update({ let was = $0; $0 = false; return was }) else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K".utf8))
    }
}
