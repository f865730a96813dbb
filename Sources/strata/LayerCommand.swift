import ArgumentParser
import Foundation
import StrataBuild
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

extension Strata {
    struct Layer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add packages to a built template (or remove some) as a new template, without building the base again.",
            discussion: """
                The base's packages stay as they are: the additions are resolved with them installed and \
                locked, composed over a hardlink checkout of the base, and only their maintainer scripts and \
                the triggers they set off run. A request the base already satisfies is inactive: kept in the \
                layer's origin, not layered. The layer is named DISTRO/VERSION/NAME/ARCH (NAME: --as, else \
                the base's set and the requests joined by '_'); its commit records the base and the requests, \
                which `strata status` and `strata upgrade` follow. SOURCE_DATE_EPOCH, when set, dates the tree \
                (default: the base's date, or the newest index date of the additions when later).
                """)

        @Argument(help: "The base: a ref (debian/12/minbase/amd64), a prefix naming one ref, or a commit id.")
        var base: String

        @Option(name: .long, help: "Packages to add (PKG,PKG or repeated).")
        var add: [String] = []

        @Option(name: .long, help: "Base packages to remove, with their prerm and postrm (PKG,PKG or repeated).")
        var remove: [String] = []

        @Option(name: .customLong("as"), help: "The layer's name (its ref's set component); default: SET_PKG_….")
        var name: String?

        @Option(name: .long, help: "The template tree; default: $STRATA_TEMPLATES, else the one shipped with strata.")
        var templates: String?

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var sbomOptions: SBOMOptions

        @Option(name: .shortAndLong, help: "The output: NAME.tar, .tar.gz, .tar.zst, .tar.xz, or DIR/; default: DISTRO-VERSION-NAME-ARCH.tar.zst.")
        var output: String?

        @Option(help: "\(OutputTarget.formatNames); default: from the output's name, else tar.zst.")
        var format: String?

        @Flag(help: "When a maintainer script or a later stage fails, keep the tree (mounted) for inspection; `strata gc` removes it.")
        var keepFailed = false

        @Flag(help: "Run every stage even when the layer's ref names a layer of these very inputs (which is otherwise exported as it is).")
        var rebuild = false

        @Flag(name: .shortAndLong, help: "Print only the summary line (and errors).")
        var quiet = false

        func validate() throws {
            if add.isEmpty && remove.isEmpty { throw ValidationError("nothing to layer: give --add or --remove") }
            if let format, OutputTarget.format(named: format) == nil {
                throw ValidationError("--format must be \(OutputTarget.formatNames), not '\(format)'")
            }
        }

        func run() async throws {
            Interruption.install()
            let report = Reporter(quiet: quiet)
            defer { report.clear() }
            try await reportingErrors(quiet: quiet) { try await report.clearingOnError {
                let store = try storeOptions.existingStore()
                let id = try store.resolveCommit(base)
                let names = (
                    add: try TemplateSpec.packageNames(add, option: "--add"),
                    remove: try TemplateSpec.packageNames(remove, option: "--remove"))
                let run = LayerRun(storeOptions: storeOptions, templates: templates, report: report, sbomFormats: try sbomOptions.formats)
                if let name { try run.refuseName(name, base: try store.readCommit(id), in: store) }
                try await run.run(
                    store: store, base: id, baseName: try LayerRun.recordedName(base, resolvedTo: id, in: store),
                    add: names.add, remove: names.remove, name: name, output: output, format: format,
                    keepFailed: keepFailed, rebuild: rebuild)
            } }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a layer was asked for, what it layered, and whether its base has moved on.")

        @Argument(help: "A layer's ref (debian/12/minbase_curl/amd64), a prefix naming one ref, or a commit id.")
        var ref: String

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await reportingErrors {
                let store = try storeOptions.existingStore()
                let status = try LayerStatus(store: store, name: ref, packagers: .shipped)
                if json {
                    FileHandle.standardOutput.write(Data(try status.json()))
                } else {
                    print(status.text)
                }
            }
        }
    }

    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a layer's requests again onto its base ref's newest commit.",
            discussion: """
                Requests the new base satisfies become inactive, and ones it no longer satisfies are layered \
                again. --dry-run resolves and prints what would change, building nothing.
                """)

        @Argument(help: "A layer's ref, a prefix naming one ref, or a commit id.")
        var ref: String

        @Flag(help: "Print what would change; build nothing.")
        var dryRun = false

        @Option(name: .long, help: "The template tree; default: $STRATA_TEMPLATES, else the one shipped with strata.")
        var templates: String?

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var sbomOptions: SBOMOptions

        @Option(name: .shortAndLong, help: "The output; default: DISTRO-VERSION-NAME-ARCH.tar.zst.")
        var output: String?

        @Option(help: "\(OutputTarget.formatNames); default: from the output's name, else tar.zst.")
        var format: String?

        @Flag(name: .shortAndLong, help: "Print only the summary line (and errors).")
        var quiet = false

        func run() async throws {
            Interruption.install()
            let report = Reporter(quiet: quiet)
            defer { report.clear() }
            try await reportingErrors(quiet: quiet) { try await report.clearingOnError {
                let store = try storeOptions.existingStore()
                let status = try LayerStatus(store: store, name: ref, packagers: .shipped)
                guard let origin = status.layer else {
                    throw StrataError(.invalidInput, "\(ref) is not a layer (it was built from a template; `strata build` it again)")
                }
                guard let current = origin.currentBase else {
                    throw StrataError(.notFound, "the base ref \(origin.baseName) is not in the store any more")
                }
                let run = LayerRun(storeOptions: storeOptions, templates: templates, report: report, sbomFormats: try sbomOptions.formats)
                if dryRun {
                    try await run.dryRun(status: status, origin: origin, onto: current, store: store)
                    return
                }
                try await run.run(
                    store: store, base: current, baseName: origin.baseName, add: origin.add, remove: origin.remove,
                    name: status.commit.origin["set"], output: output, format: format, keepFailed: false, upgrade: true,
                    application: status.commit.origin[Builder.LayerOrigin.application])
            } }
        }
    }
}

/// One layer run, for `layer` and `upgrade`.
struct LayerRun {
    let storeOptions: StoreOptions
    let templates: String?
    let report: Reporter
    var sbomFormats: [SBOMFormat] = []

    /// The ref a layer records as its base: the name given when it is a ref, else the ref that
    /// a prefix named; a commit id is recorded as it is (it never moves on).
    static func recordedName(_ typed: String, resolvedTo id: SHA256Digest, in store: Store) throws -> String {
        let refs = try store.refs()
        if refs[typed] == id { return typed }
        if let (name, _) = refs.filter({ $0.value == id && $0.key.hasPrefix(typed) }).min(by: { $0.key < $1.key }) {
            return name
        }
        return id.hex
    }

    /// `--as NAME` may not take the ref of a template set of the tree (an application template's
    /// is `strata build`'s) or of a commit that is not a layer: the layer would replace it.
    func refuseName(_ name: String, base: Commit, in store: Store) throws {
        guard let target = base.origin["target"], let architecture = base.origin["architecture"] else { return }
        let tree = TemplateTree(root: try TemplateTree.existingRoot(explicit: templates))
        if try tree.sets(target: target, architecture: Architecture.parse(architecture)).contains(name) {
            throw StrataError(
                .invalidInput,
                "--as \(name): \(target) has a template set of that name; its ref \(target)/\(name)/\(architecture) is the set's "
                    + "(name the layer otherwise, or write the set as an application template: @base in \(name).list)")
        }
        let ref = "\(target)/\(name)/\(architecture)"
        if let existing = try store.ref(ref), store.containsCommit(existing),
            try store.readCommit(existing).origin[Builder.LayerOrigin.base] == nil
        {
            throw StrataError(
                .invalidInput, "--as \(name): \(ref) names a template built with `strata build`, not a layer; name the layer otherwise")
        }
    }

    /// The base template's spec, from the template tree, by what the base commit records.
    func baseSpec(_ commit: Commit) throws -> TemplateSpec {
        guard let target = commit.origin["target"], let architecture = commit.origin["architecture"],
            let set = commit.origin[Builder.LayerOrigin.templateSet] ?? commit.origin["set"]
        else { throw StrataError(.invalidInput, "the base commit records no target, set and architecture") }
        let tree = TemplateTree(root: try TemplateTree.existingRoot(explicit: templates))
        return try tree.load(target: target, set: set, architecture: Architecture.parse(architecture))
    }

    /// The job of a layer onto `base`. An upgrade accepts removals the new base has no package
    /// for; an upgrade of an application template's layer takes its requests from the list now
    /// (as `strata build --set APP` does), onto the base it recorded.
    func job(
        store: Store, base: SHA256Digest, baseName: String, add: [String], remove: [String], name: String?,
        output: String, format: Builder.OutputFormat, planner: Planner, upgrade: Bool = false, application: String? = nil
    ) throws -> Builder.LayerJob {
        var spec = try baseSpec(try store.readCommit(base))
        var (add, remove) = (add, remove)
        if let application {
            let tree = TemplateTree(root: try TemplateTree.existingRoot(explicit: templates))
            let list = try tree.load(target: spec.target, set: application, architecture: spec.architecture)
            guard let listBase = list.base else {
                throw StrataError(.invalidInput, "\(application) is no longer an application template (its list has no @base); `strata build` it")
            }
            let listBaseRef = "\(spec.target)/\(listBase)/\(spec.architecture.debian)"
            guard listBaseRef == baseName else {
                throw StrataError(
                    .invalidInput,
                    "\(list.origins["@base"] ?? application): the list now says @base \(listBase), the layer is on \(baseName); "
                        + "`strata build \(spec.target) --set \(application)` layers it onto \(listBaseRef)")
            }
            spec = list
            (add, remove) = (list.packages, list.dropped)
        }
        try planner.mirrors.check(spec)
        var urls = [String: String]()
        for repository in spec.repositories { urls[repository.name] = try planner.mirrors.url(for: repository) }
        var job = Builder.LayerJob(
            base: base, baseName: baseName, spec: spec, add: add, remove: remove, name: name, output: output,
            format: format, urls: urls, sourceDateEpoch: try SourceDateEpoch.fromEnvironment())
        job.application = application
        job.removalsMayBeGone = upgrade
        return job
    }

    func run(
        store: Store, base: SHA256Digest, baseName: String, add: [String], remove: [String], name: String?,
        output: String?, format: String?, keepFailed: Bool, rebuild: Bool = false, upgrade: Bool = false,
        application: String? = nil
    ) async throws {
        let start = Date()
        let commit = try store.readCommit(base)
        let target = commit.origin["target"] ?? "template"
        let layerName = name ?? Builder.defaultLayerName(baseSet: commit.origin["set"] ?? "base", add: add, remove: remove)
        let defaultBase = "\(target.replacingOccurrences(of: "/", with: "-"))-\(layerName)-\(commit.origin["architecture"] ?? "")"
        let outputTarget = try OutputTarget.resolve(output: output, format: format, defaultBase: defaultBase)
        try outputTarget.checkWritable()
        let planner = try storeOptions.planner()
        var job = try job(
            store: store, base: base, baseName: baseName, add: add, remove: remove, name: name, output: outputTarget.path,
            format: outputTarget.format, planner: planner, upgrade: upgrade, application: application)
        job.keepFailed = keepFailed
        job.rebuild = rebuild
        var builder = Builder(store: store, fetcher: planner.fetcher, packagers: planner.packagers) { report.line($0) }
        builder.sbomFormats = sbomFormats
        let result = try await builder.layer(job)
        let seconds = Date().timeIntervalSince(start)
        let size = ByteCountFormatter.string(fromByteCount: Int64(result.build.bytes), countStyle: .file)
        let digest = result.build.outputDigest.map { " sha256 \($0.hex)" } ?? ""
        report.clear()
        if result.build.reused {
            print(
                "layered \(result.ref) onto \(baseName) (\(base.hex.prefix(12))): unchanged (the committed layer exported), "
                    + "\(String(format: "%.1f", seconds)) s -> \(result.build.output)\(digest)")
            return
        }
        let added = result.layered.map { "\($0.name) \($0.version)" }.joined(separator: ", ")
        var what = result.layered.isEmpty ? "nothing layered" : "\(result.layered.count) layered (\(added))"
        if !result.removed.isEmpty { what += ", removed \(result.removed.joined(separator: ", "))" }
        if !result.inactive.isEmpty {
            what += ", inactive: " + result.inactive.sorted { $0.key < $1.key }.map { "\($0.key) (the base has \($0.value))" }
                .joined(separator: ", ")
        }
        print(
            "layered \(result.ref) onto \(baseName) (\(base.hex.prefix(12))): \(what); \(result.build.packages) packages, "
                + "\(result.build.files) files, \(size), \(String(format: "%.1f", seconds)) s -> \(result.build.output)\(digest)")
        let times = report.stageTimes()
        if !times.isEmpty { report.note("stages: \(times)") }
    }

    func dryRun(status: LayerStatus, origin: LayerStatus.Layer, onto current: SHA256Digest, store: Store) async throws {
        let planner = try storeOptions.planner()
        let job = try job(
            store: store, base: current, baseName: origin.baseName, add: origin.add, remove: origin.remove,
            name: status.commit.origin["set"], output: "", format: .storeOnly, planner: planner, upgrade: true,
            application: status.commit.origin[Builder.LayerOrigin.application])
        let builder = Builder(store: store, fetcher: planner.fetcher, packagers: planner.packagers) { report.line($0) }
        let plan = try await builder.planLayer(job)
        report.clear()
        let lines = UpgradeChange(status: status, layer: origin, plan: plan, onto: current).lines(baseName: origin.baseName)
        print(lines.joined(separator: "\n"))
    }
}
