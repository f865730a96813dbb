// What a build says about the lockfile it uses: whose it is (a lockfile of another target is
// refused, never overwritten), how old its indexes are, and how many packages a resolution
// against the repositories as they are now would change — so a build a month later does not
// silently install last month's packages.
import Foundation
import StrataCore
import StrataTemplate

extension Lockfile {
    /// - Throws: ``StrataError`` `.invalidInput` when the lockfile at `path` is for another
    ///   target, set or architecture than `spec`.
    public func requireFor(_ spec: TemplateSpec, path: String) throws {
        guard target == spec.target, set == spec.set, architecture == spec.architecture.debian else {
            throw StrataError(
                .invalidInput,
                "\(path) is the lockfile of \(target) --set \(set) (\(architecture)), not of \(spec.target) --set "
                    + "\(spec.set) (\(spec.architecture)); give another --lock path (it is left as it is)")
        }
    }

    /// `indexes of 2026-11-02, 29 days old`.
    public func ageDescription(now: Date = Date()) -> String {
        guard let newest = newestIndexDate else { return "its indexes carry no date" }
        let date = Date(timeIntervalSince1970: TimeInterval(newest))
        let days = Int(now.timeIntervalSince(date) / 86_400)
        let day = ISO8601DateFormatter.string(from: date, timeZone: .gmt, formatOptions: [.withFullDate])
        let age = days < 1 ? "less than a day old" : days == 1 ? "1 day old" : "\(days) days old"
        return "indexes of \(day), \(age)"
    }
}

extension Planner {
    /// One line on how many packages a resolution of `spec` now would change in `lockfile`, as
    /// `strata lock --check` would list them; a failure to ask is said, not thrown.
    public func staleness(of lockfile: Lockfile, for spec: TemplateSpec) async -> String {
        do {
            // The resolution's own warnings were said when the lockfile was made.
            let now = try await Diagnostics.$collector.withValue({ _ in }) { try await resolve(spec).lockfile }
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
