// What a build checks and says about the lockfile it uses: whose it is (a lockfile of another
// target is refused, never overwritten) and how old its indexes are.
import Foundation
import StrataCore
import StrataTemplate

extension Lockfile {
    /// - Throws: ``StrataError`` `.invalidInput` when the lockfile at `path` is for another
    ///   target, set or architecture than `spec`.
    public func requireFor(_ spec: TemplateSpec, path: String) throws {
        guard target == spec.target, set == spec.set, architecture == spec.architecture.name(in: spec.family) else {
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

extension Lockfile {
    /// The newest date of the indexes, as seconds since the epoch.
    public var newestIndexDate: Int64? {
        let parser = ISO8601DateFormatter()
        return repositories.compactMap { $0.date.flatMap(parser.date(from:)) }.max().map {
            Int64($0.timeIntervalSince1970)
        }
    }
}

extension Architecture {
    /// The name `family`'s tools use: `amd64` for deb, `x86_64` for rpm.
    public func name(in family: PackageFamily) -> String {
        switch family {
        case .deb: debian
        case .rpm: rpm
        }
    }
}
