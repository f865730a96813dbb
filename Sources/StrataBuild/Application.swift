// Application templates (docs/templates.md, "Application templates"): a set whose list starts
// from `@base SET` is a layer onto SET's commit, its names the additions and its `name-` lines
// the base packages it removes. Building it layers onto the base ref's commit, building the base
// first when the store has none (an application base is built the same way, recursively).
import StrataCore
import StrataStore
import StrataTemplate

extension Builder {
    /// Builds the application template `spec` (``TemplateSpec/base`` set) as a layer named by
    /// its set onto the base's commit.
    /// - Parameters:
    ///   - tree: the tree `spec` was loaded from; the base set is loaded from it.
    ///   - urls: each repository's URL now (one target: the base's repositories are the same).
    ///   - buildBase: builds a missing base set (not an application template) and returns its
    ///     commit; the caller owns its lockfile, as for any build.
    /// - Returns: the layer, and the commit of each base built first (innermost first).
    public func buildApplication(
        _ spec: TemplateSpec, tree: TemplateTree, output: String, format: OutputFormat, urls: [String: String],
        sourceDateEpoch: Int64? = nil, keepFailed: Bool = false, rebuild: Bool = false,
        buildBase: (TemplateSpec) async throws -> SHA256Digest
    ) async throws -> (layer: LayerResult, builtBases: [String]) {
        guard let baseSet = spec.base else {
            throw StrataError.internalError("buildApplication of \(spec.set), which names no @base")
        }
        let baseSpec = try tree.load(target: spec.target, set: baseSet, architecture: spec.architecture)
        let baseRef = Committer.ref(for: baseSpec)
        var built = [String]()
        let base: SHA256Digest
        if let id = try store.ref(baseRef) {
            report("base: \(baseRef) is \(id.hex.prefix(12)) (`strata build \(spec.target) --set \(baseSet)` refreshes it)")
            base = id
        } else if baseSpec.base != nil {
            report("base: \(baseRef) is not in the store; building that application template first")
            let inner = try await buildApplication(
                baseSpec, tree: tree, output: "", format: .storeOnly, urls: urls, sourceDateEpoch: sourceDateEpoch,
                buildBase: buildBase)
            built = inner.builtBases + [baseRef]
            base = inner.layer.build.commit
        } else {
            report("base: \(baseRef) is not in the store; building it first")
            base = try await buildBase(baseSpec)
            built = [baseRef]
        }
        var job = LayerJob(
            base: base, baseName: baseRef, spec: spec, add: spec.packages, remove: spec.dropped, name: spec.set,
            output: output, format: format, urls: urls, sourceDateEpoch: sourceDateEpoch, keepFailed: keepFailed)
        // The list's own name: `--include` makes the set `web+curl`, but the list is web's.
        job.application = String(spec.set.prefix { $0 != "+" })
        job.rebuild = rebuild
        job.removalsMayBeGone = true
        return (try await layer(job), built)
    }
}
