// Compose: lay every package's entries into one directory (regular files as hardlinks to their
// store objects, /usr merged on the way, device nodes a container needs), leaving out what the
// template's `excludes` globs match. Globs are matched against each package path with fnmatch(3)
// as dpkg's `path-exclude` is (a `*` also matches `/`); files, links and special files are left
// out, directories stay, as dpkg keeps them. The packager records the globs in the tree so its
// tool obeys them later.
import StrataCore
import StrataPackaging

#if canImport(Glibc)
    import Glibc
#endif

/// Composes packages into a tree.
struct ComposeStage {
    let layout: TreeLayout
    let excludes: [String]
    /// Keep symlinks out of the tree, for the caller to place in the overlay's merged view
    /// (``Output/symlinks``, Composer's `deferSymlinks`).
    var deferSymlinks = false

    /// What compose made.
    struct Output {
        var tree: ComposedTree
        /// Paths the excludes kept out.
        var excluded: Int
        /// The symlinks kept out of the tree (with ``ComposeStage/deferSymlinks``), by tree path.
        var symlinks: [String: PackageEntry] = [:]
    }

    /// Places `packages` (in order: a later package replaces an earlier one's file) under `root`.
    func run<Record>(_ packages: [ImportedPackage<Record>], root: String) throws -> Output {
        var composer = try Composer(root: root, layout: layout)
        composer.deferSymlinks = deferSymlinks
        defer { composer.close() }
        try DevNodes.create(in: root)
        var excluded = 0
        for package in packages {
            var excludedFiles = [String: PackageEntry]()
            for var entry in package.entries {
                if Self.matches(entry, excludes) {
                    excluded += 1
                    excludedFiles[entry.path] = entry
                    continue
                }
                // A hardlink to an excluded file becomes a file of its own (the same object).
                if case .hardlink(let target) = entry.kind, let original = excludedFiles[target] {
                    entry.kind = original.kind
                    excludedFiles[target] = nil
                }
                try composer.place(entry)
            }
        }
        try composer.linkMergedDirectories()
        var objects = [String: String]()
        for package in packages {
            for entry in package.entries {
                if case .file(let object) = entry.kind { objects[layout.path(entry.path)] = object }
            }
        }
        return Output(
            tree: ComposedTree(root: root, layout: layout, objects: objects), excluded: excluded,
            symlinks: composer.deferred)
    }

    static func matches(_ entry: PackageEntry, _ globs: [String]) -> Bool {
        if case .directory = entry.kind { return false }
        let path = "/" + entry.path
        return globs.contains { fnmatch($0, path, 0) == 0 }
    }
}
