// Refs and the package index: the store's only mutable names.
//
//   refs/<name>            "<commit hex>\n"; name components are [A-Za-z0-9._-]+ not starting with
//                          "." (so "..", "." and hidden files are impossible), joined by "/", which
//                          become directories: refs/debian/12/minbase/amd64
//   packages/<blob hex>    "<tree hex>\n": the tree the package blob was imported as
//
// Both are written under tmp/, flushed and renamed over the old file, so a reader sees the old or
// the new id, never a mix. A ref cannot be both a name and a prefix of another ("a" and "a/b").
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// Points ref `name` at `commit`, creating or replacing it.
    /// - Throws: ``StrataError`` `.invalidInput` for a bad name or one that clashes with another ref,
    ///   `.notFound` when the commit is not in the store, `.io`.
    public func setRef(_ name: String, to commit: SHA256Digest) throws {
        try Self.validateRefName(name)
        guard containsCommit(commit) else {
            throw StrataError(.notFound, "ref \(name): commit \(commit.hex) is not in the store")
        }
        let components = name.split(separator: "/")
        var directory = refsDirectory
        for component in components.dropLast() {
            directory += "/\(component)"
            if let st = try FileSystem.status(directory), st.st_mode & S_IFMT != S_IFDIR {
                throw StrataError(.invalidInput, "ref \(name): \(relative(directory)) is a ref, not a directory")
            }
        }
        let path = refPath(name)
        if let st = try FileSystem.status(path), st.st_mode & S_IFMT == S_IFDIR {
            throw StrataError(.invalidInput, "ref \(name): other refs live under \(relative(path))/")
        }
        try FileSystem.makeDirectories(directory)
        try replace(path, with: "\(commit.hex)\n")
    }

    /// The commit ref `name` points at, or nil when there is no such ref.
    /// - Throws: ``StrataError`` `.invalidInput` for a bad name, `.verificationFailed` when the ref
    ///   file does not hold a commit id.
    public func ref(_ name: String) throws -> SHA256Digest? {
        try Self.validateRefName(name)
        return try readID(refPath(name))
    }

    /// Every ref with its commit.
    /// - Throws: ``StrataError`` `.verificationFailed` for a ref file that does not hold a commit id.
    public func refs() throws -> [String: SHA256Digest] {
        var out = [String: SHA256Digest]()
        for name in try refNames() {
            if let commit = try readID(refPath(name)) { out[name] = commit }
        }
        return out
    }

    /// Removes ref `name` (and directories it leaves empty).
    /// - Returns: whether there was such a ref.
    @discardableResult
    public func deleteRef(_ name: String) throws -> Bool {
        try Self.validateRefName(name)
        let path = refPath(name)
        if let st = try FileSystem.status(path), st.st_mode & S_IFMT == S_IFDIR { return false }
        guard try FileSystem.remove(path) else { return false }
        var components = name.split(separator: "/").dropLast()
        while !components.isEmpty {
            // rmdir fails on a directory that still holds refs, which ends the walk.
            guard rmdir("\(refsDirectory)/\(components.joined(separator: "/"))") == 0 else { break }
            components = components.dropLast()
        }
        FileSystem.syncDirectory(refsDirectory)
        return true
    }

    /// Records that package blob `blob` was imported as tree `tree`.
    /// - Throws: ``StrataError`` `.notFound` when the tree is not in the store, `.io`.
    public func setPackageTree(blob: SHA256Digest, tree: SHA256Digest) throws {
        guard containsTree(tree) else {
            throw StrataError(.notFound, "package \(blob.hex): tree \(tree.hex) is not in the store")
        }
        if let deferred {
            deferred.pending.update { $0.append((blob, tree)) }
            return
        }
        try replace(packagePath(blob), with: "\(tree.hex)\n")
    }

    /// The tree package blob `blob` was imported as, or nil when it was not.
    public func packageTree(blob: SHA256Digest) throws -> SHA256Digest? { try readID(packagePath(blob)) }

    /// Every imported package blob with its tree.
    public func packageTrees() throws -> [SHA256Digest: SHA256Digest] {
        var out = [SHA256Digest: SHA256Digest]()
        for name in try FileSystem.names(in: packagesDirectory) {
            guard let blob = try? SHA256Digest(hex: name), name == blob.hex else { continue }
            if let tree = try readID(packagePath(blob)) { out[blob] = tree }
        }
        return out
    }

    func refPath(_ name: String) -> String { "\(refsDirectory)/\(name)" }
    func packagePath(_ blob: SHA256Digest) -> String { "\(packagesDirectory)/\(blob.hex)" }

    /// - Throws: ``StrataError`` `.invalidInput` unless `name` is components of `[A-Za-z0-9._-]`
    ///   not starting with ".", joined by single slashes.
    public static func validateRefName(_ name: String) throws {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        let valid =
            !name.isEmpty
            && components.allSatisfy { component in
                guard let first = component.utf8.first, first != UInt8(ascii: ".") else { return false }
                return component.utf8.allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                        UInt8(ascii: "-"), UInt8(ascii: "+"):
                        return true
                    default:
                        return false
                    }
                }
            }
        guard valid else {
            throw StrataError(
                .invalidInput,
                "invalid ref name '\(name)': use components of letters, digits, '.', '_' and '-', not starting "
                    + "with '.', joined by '/'")
        }
    }

    /// Every ref name, found by walking refs/.
    func refNames() throws -> [String] {
        var names = [String]()
        func walk(_ prefix: String) throws {
            for name in try FileSystem.names(in: prefix.isEmpty ? refsDirectory : "\(refsDirectory)/\(prefix)") {
                let relativeName = prefix.isEmpty ? name : "\(prefix)/\(name)"
                guard let st = try FileSystem.status(refPath(relativeName)) else { continue }
                if st.st_mode & S_IFMT == S_IFDIR {
                    try walk(relativeName)
                } else {
                    names.append(relativeName)
                }
            }
        }
        try walk("")
        return names
    }

    /// The digest a ref or package file holds, nil when the file is absent.
    func readID(_ path: String) throws -> SHA256Digest? {
        guard FileSystem.exists(path) else { return nil }
        let text = String(decoding: try FileReader.readAll(path), as: UTF8.self)
        do {
            return try SHA256Digest(hex: text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw StrataError(.verificationFailed, "\(relative(path)): does not hold a sha256 id")
        }
    }

    /// Replaces the file at `path` with `text` by rename from tmp/, and flushes its directory.
    private func replace(_ path: String, with text: String) throws {
        let file = try makeTemporaryFile(hint: "ref")
        do {
            try Array(text.utf8).withUnsafeBytes { try file.write($0) }
            try file.finish(movingTo: path)
        } catch {
            file.discard()
            throw error
        }
        FileSystem.syncDirectory((path as NSString).deletingLastPathComponent)
    }
}
