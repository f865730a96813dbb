// Where a build writes its result and in which format, decided once from `-o` and `--format`
// and checked before anything is downloaded. Names a sysadmin uses are understood:
//   .tar  .tar.gz .tgz  .tar.zst .tzst  .tar.xz .txz  and a trailing "/" (or an existing
//   directory) for a directory output.
// A name whose suffix says one compression and a `--format` that says another is refused, as is
// a name strata cannot read a format from when no `--format` is given.
import Foundation
import StrataArchive
import StrataCore
import StrataPackaging

#if canImport(Glibc)
    import Glibc
#endif

public struct OutputTarget: Sendable, Equatable {
    public var path: String
    public var format: Builder.OutputFormat

    public init(path: String, format: Builder.OutputFormat) {
        self.path = path
        self.format = format
    }

    /// The format names `--format` takes, and the file-name suffixes that mean each.
    static let names: [(name: String, format: Builder.OutputFormat)] = [
        ("dir", .directory), ("tar", .tar(.none)), ("tar.gz", .tar(.gzip)), ("tgz", .tar(.gzip)),
        ("tar.zst", .tar(.zstd)), ("tzst", .tar(.zstd)), ("tar.xz", .tar(.xz)), ("txz", .tar(.xz)),
        ("oci", .oci), ("oci-archive", .ociArchive), ("oci.tar", .ociArchive),
    ]

    /// What `--format` accepts, for help and error texts.
    public static let formatNames = "tar, tar.gz (tgz), tar.zst (tzst), tar.xz (txz), dir, oci (an OCI image layout) or oci-archive (oci.tar)"

    /// The format a `--format` value names.
    public static func format(named name: String) -> Builder.OutputFormat? {
        names.first { $0.name == name }?.format
    }

    /// The format a path's name says: its suffix, a trailing `/`, or an existing directory.
    public static func format(ofPath path: String) -> Builder.OutputFormat? {
        if path.hasSuffix("/") { return .directory }
        let file = (path as NSString).lastPathComponent
        // Longest suffix first, so `x.tar.gz` is gzip and not plain tar.
        for (name, format) in names.filter({ $0.name != "dir" }).sorted(by: { $0.name.count > $1.name.count })
        where file.hasSuffix(".\(name)") && file.count > name.count + 1 {
            return format
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return .directory }
        return nil
    }

    /// The usual name of a format's file: `base.tar.zst`, or `base` for a directory.
    public static func defaultPath(base: String, format: Builder.OutputFormat) -> String {
        switch format {
        case .directory, .storeOnly: return base
        case .tar(let compression): return base + ".tar" + compression.fileExtension
        case .oci: return base + ".oci"
        case .ociArchive: return base + ".oci.tar"
        }
    }

    /// Decides the output from `-o` and `--format`.
    /// - Parameters:
    ///   - output: `-o`, if given.
    ///   - format: `--format`, if given.
    ///   - defaultBase: the name without suffix to use when `-o` is not given.
    /// - Throws: ``StrataError`` `.invalidInput` for an unknown format name, a name that says
    ///   another format than `--format`, or a name that says none when `--format` is not given.
    public static func resolve(output: String?, format: String?, defaultBase: String) throws -> OutputTarget {
        var requested: Builder.OutputFormat?
        if let format {
            guard let named = Self.format(named: format) else {
                throw StrataError(.invalidInput, "--format \(format): expected \(formatNames)")
            }
            requested = named
        }
        guard let output else {
            let chosen = requested ?? .tar(.zstd)
            return OutputTarget(path: defaultPath(base: defaultBase, format: chosen), format: chosen)
        }
        let named = Self.format(ofPath: output)
        switch (named, requested) {
        case (let named?, let requested?) where named != requested:
            throw StrataError(
                .invalidInput,
                "-o \(output) names \(named.description) output but --format says \(requested.description); "
                    + "make them agree (or leave one out)")
        case (let named?, _):
            return OutputTarget(path: output, format: named)
        case (nil, let requested?):
            return OutputTarget(path: output, format: requested)
        case (nil, nil):
            throw StrataError(
                .invalidInput,
                "-o \(output): cannot tell the format from the name; end it in .tar, .tar.gz/.tgz, .tar.zst/.tzst, "
                    + ".tar.xz/.txz or / (a directory), or give --format")
        }
    }

    /// Checks, before anything is downloaded, that the output can be written: its directory
    /// exists and is writable; a tar output is not a directory; a directory output is absent, or
    /// an empty directory (a mount point is fine), as mmdebstrap accepts.
    /// - Throws: ``StrataError`` `.invalidInput` or `.io` saying what is in the way.
    public func checkWritable() throws {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        var st = stat()
        let exists = lstat(trimmed, &st) == 0
        let isDirectory = exists && (st.st_mode & S_IFMT) == S_IFDIR
        switch format {
        case .storeOnly: return
        case .tar, .ociArchive:
            if isDirectory { throw StrataError(.invalidInput, "-o \(path) is a directory; a tar output must be a file name") }
            if exists, access(trimmed, W_OK) != 0 { throw StrataError(.io, "\(path): cannot write: \(String(cString: strerror(errno)))") }
        case .directory, .oci:
            if exists {
                guard isDirectory else {
                    throw StrataError(.invalidInput, "-o \(path) exists and is not a directory; a directory output must be a new or empty directory")
                }
                let children = try FileManager.default.contentsOfDirectory(atPath: trimmed).filter { $0 != "lost+found" }
                guard children.isEmpty else {
                    throw StrataError(
                        .invalidInput, "-o \(path) is not empty (\(children.count) \(children.count == 1 ? "entry" : "entries")); give a new or empty directory")
                }
                guard access(trimmed, W_OK) == 0 else {
                    throw StrataError(.io, "\(path): cannot write: \(String(cString: strerror(errno)))")
                }
                return
            }
        }
        let parent = (trimmed as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        var parentStat = stat()
        // A missing parent is made at export time; its nearest existing ancestor must be writable.
        var ancestor = directory
        while lstat(ancestor, &parentStat) != 0 {
            let up = (ancestor as NSString).deletingLastPathComponent
            if up.isEmpty || up == ancestor { ancestor = "."; break }
            ancestor = up
        }
        guard (parentStat.st_mode & S_IFMT) == S_IFDIR || stat(ancestor, &parentStat) == 0 && (parentStat.st_mode & S_IFMT) == S_IFDIR
        else { throw StrataError(.invalidInput, "-o \(path): \(ancestor) is not a directory") }
        guard access(ancestor, W_OK) == 0 else {
            throw StrataError(.io, "-o \(path): cannot write in \(ancestor): \(String(cString: strerror(errno)))")
        }
    }
}

extension Builder.OutputFormat: CustomStringConvertible {
    public var description: String {
        switch self {
        case .directory: return "a directory"
        case .storeOnly: return "the store only"
        case .oci: return "an OCI image layout"
        case .ociArchive: return "an OCI image archive"
        case .tar(.none): return "tar"
        case .tar(let compression): return "tar\(compression.fileExtension)"
        }
    }
}
