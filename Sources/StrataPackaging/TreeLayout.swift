// How a packager lays out a tree: which top-level directories merged /usr folds into usr/. Debian
// 12+ and every current RPM distribution merge /usr; composing folds the packages' paths on the
// way in, so the package tools find a merged system and never convert one.

/// Where package paths land in a composed tree.
public struct TreeLayout: Sendable, Equatable {
    /// Top-level directories folded into `usr/` (`bin` → `usr/bin`, with `bin -> usr/bin`).
    public var mergedDirectories: [String]

    public init(mergedDirectories: [String]) { self.mergedDirectories = mergedDirectories }

    /// Merged /usr as Debian's usrmerge and Fedora/EL's filesystem package do it.
    public static let mergedUsr = TreeLayout(mergedDirectories: ["bin", "sbin", "lib", "lib32", "lib64", "libx32"])

    /// Where a package path (relative, no leading slash) lands: `bin/sh` is `usr/bin/sh`, `bin`
    /// itself is `usr/bin`.
    public func path(_ path: String) -> String {
        let first = path.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        return mergedDirectories.contains(first) ? "usr/\(path)" : path
    }
}
