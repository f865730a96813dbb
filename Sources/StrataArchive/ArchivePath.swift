// Member paths from untrusted archives. Tar and ar store paths as bytes with no rule against
// `..`, absolute paths or NUL; a .deb from a hostile mirror must not name a file outside the
// tree it is unpacked into. We accept what dpkg-deb writes (`./usr/bin/env`, `./` for the root,
// `usr/` with a trailing slash) and normalise it; anything that could climb out is refused.
// Symlink targets are not checked here: resolving them inside the root is the composer's job.
import StrataCore

/// Normalising and checking member paths.
public enum ArchivePath {
    /// `raw` normalised: a leading `/` or `./` removed, `.` and empty components dropped,
    /// no trailing slash; `""` for the root.
    ///
    /// - Parameters:
    ///   - raw: the path as stored in the archive.
    ///   - what: names the archive and member kind in errors (`"foo.deb: data.tar"`).
    /// - Returns: the normalised path.
    /// - Throws: ``StrataError`` `.invalidInput` for a `..` component or a NUL byte.
    static func normalise(_ raw: String, what: String) throws -> String {
        guard !raw.utf8.contains(0) else {
            throw StrataError(.invalidInput, "\(what): member path \(quoted(raw)) contains a NUL byte")
        }
        var components: [Substring] = []
        for component in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                throw StrataError(.invalidInput, "\(what): member path \(quoted(raw)) contains '..'")
            }
            components.append(component)
        }
        return components.joined(separator: "/")
    }

    /// `raw` as a Swift string literal would show it, so control characters stay visible.
    public static func quoted(_ raw: String) -> String {
        var out = "'"
        for scalar in raw.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }
}
