// SOURCE_DATE_EPOCH as https://reproducible-builds.org/specs/source-date-epoch/ specifies it: a
// decimal count of seconds since 1970-01-01 UTC; when set, it is the time every mtime in the
// output is clamped to, overriding strata's default (the newest index date in the lockfile).
// A value that is not such a number is an error, not silently ignored.
import Foundation
import StrataCore

public enum SourceDateEpoch {
    /// The variable's value, or `nil` when it is unset or empty.
    /// - Throws: ``StrataError`` `.invalidInput` for a value that is not a non-negative integer.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> Int64?
    {
        guard let text = environment["SOURCE_DATE_EPOCH"], !text.isEmpty else { return nil }
        guard text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let value = Int64(text) else {
            throw StrataError(
                .invalidInput,
                "SOURCE_DATE_EPOCH='\(text)' is not a number of seconds since 1970-01-01 UTC "
                    + "(reproducible-builds.org/specs/source-date-epoch); unset it or give one like 1700000000")
        }
        return value
    }
}
