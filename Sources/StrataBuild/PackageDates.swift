// The date of each file as its package gives it, for the export: a composed file is a hardlink to
// a store object, whose own mtime is 0 (objects are shared by every package that ships the same
// bytes, whatever date each gives them). dpkg sets every non-directory's mtime from the package
// (symlinks with lutimes), so a file that no script touched is dated as in its package, like in
// mmdebstrap's output; a file a script wrote, and every directory, keeps the build's own time,
// which the export clamps to SOURCE_DATE_EPOCH. "Untouched" is read from the overlay: the path is
// not in its upper layer (without an overlay, merged/ is a copy of lower/ and the file's mtime
// and size still equal the lower one's).
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

struct PackageDates: Sendable {
    /// Merged-/usr path → the package's mtime, the last package to ship a path winning (as in
    /// compose order).
    let dates: [String: Int64]
    let lower: String
    let upper: String?
    let merged: String

    init(packages: [ImportedPackage], scratch: Scratch) {
        var dates = [String: Int64]()
        for package in packages {
            for entry in package.entries {
                guard let mtime = entry.mtime else { continue }
                if case .directory = entry.kind { continue }
                dates[Composer.mergedPath(entry.path)] = mtime
            }
        }
        self.dates = dates
        lower = scratch.lower
        upper = scratch.overlayMounted ? scratch.upper : nil
        merged = scratch.merged
    }

    /// The package's date of `path` (relative to the root) while it is as the package left it.
    func date(of path: String) -> Int64? {
        guard let date = dates[path] else { return nil }
        var st = stat()
        if let upper {
            // Copied up or replaced (or deleted and made again) by a script: not the package's any more.
            return lstat("\(upper)/\(path)", &st) == 0 ? nil : date
        }
        var original = stat()
        guard lstat("\(merged)/\(path)", &st) == 0, lstat("\(lower)/\(path)", &original) == 0,
            st.st_mtim.tv_sec == original.st_mtim.tv_sec, st.st_mtim.tv_nsec == original.st_mtim.tv_nsec,
            st.st_size == original.st_size
        else { return nil }
        return date
    }
}
