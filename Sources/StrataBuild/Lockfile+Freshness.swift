// What a build says about the lockfile it uses: how many packages a resolution against the
// repositories as they are now would change — so a build a month later does not
// silently install last month's packages.
import Foundation
import StrataCore
import StrataPackaging
import StrataTemplate

extension Planner {
    /// One line on how many packages a resolution of `spec` now would change in `lockfile`, as
    /// `strata lock --check` would list them; a failure to ask is said, not thrown.
    public func staleness(of lockfile: Lockfile, for spec: TemplateSpec, resolveAgain: Bool = false) async -> String {
        do {
            // The resolution's own warnings were said when the lockfile was made.
            let now = try await Diagnostics.$collector.withValue(Diagnostics.Collector { _ in }) { try await resolve(spec, resolveAgain: resolveAgain).lockfile }
            let changed = now.changes(since: lockfile).filter { !$0.hasPrefix("!") }
            if changed.isEmpty { return "the repositories have no newer packages for it" }
            let shown = changed.prefix(3).joined(separator: ", ") + (changed.count > 3 ? ", …" : "")
            return "newer indexes would change \(changed.count) package\(changed.count == 1 ? "" : "s") (\(shown)); "
                + "building the locked ones; `strata lock` updates the lockfile"
        } catch {
            return "could not ask the repositories whether it is stale (\(StrataError(describing: error).message)); "
                + "building the locked packages"
        }
    }
}
