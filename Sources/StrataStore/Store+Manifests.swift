// Writing and reading tree manifests and commits: canonical JSON (TreeManifest.swift, Commit.swift)
// named by its SHA-256, written under tmp/ and renamed into `trees/` or `commits/`. Reads re-hash
// the bytes, so a damaged file is never taken for the tree or commit it is named after.
import StrataCore

extension Store {
    /// Stores `manifest` (sorted first) and returns its id; storing it again changes nothing.
    /// - Throws: ``StrataError`` `.invalidInput` for an invalid entry (paths, kinds, metadata),
    ///   `.notFound` when a file entry's object is not in the store, `.io`.
    @discardableResult
    public func writeTree(_ manifest: TreeManifest) throws -> SHA256Digest {
        let bytes = try manifest.canonicalBytes()
        for entry in manifest.entries {
            if let object = entry.object, !containsObject(object) {
                throw StrataError(.notFound, "tree entry '\(entry.path)': object \(object.hex) is not in the store")
            }
        }
        let id = SHA256Digest.of(bytes)
        try writeNamed(bytes, to: treePath(id))
        return id
    }

    /// The tree manifest `id`.
    /// - Throws: ``StrataError`` `.notFound`, or `.verificationFailed` when the file's bytes do not
    ///   hash to `id` or do not decode.
    public func readTree(_ id: SHA256Digest) throws -> TreeManifest {
        let path = treePath(id)
        return try CanonicalJSON.decode(TreeManifest.self, from: readVerified(path, id), what: relative(path))
    }

    /// Whether tree `id` is in the store.
    public func containsTree(_ id: SHA256Digest) -> Bool { FileSystem.exists(treePath(id)) }

    /// Stores `commit` and returns its id.
    /// - Throws: ``StrataError`` `.notFound` when its tree is not in the store, `.io`.
    @discardableResult
    public func writeCommit(_ commit: Commit) throws -> SHA256Digest {
        guard containsTree(commit.tree) else {
            throw StrataError(.notFound, "commit names tree \(commit.tree.hex), which is not in the store")
        }
        let bytes = try CanonicalJSON.encode(commit)
        let id = SHA256Digest.of(bytes)
        try writeNamed(bytes, to: commitPath(id))
        return id
    }

    /// The commit `id`.
    /// - Throws: ``StrataError`` `.notFound`, or `.verificationFailed` when damaged.
    public func readCommit(_ id: SHA256Digest) throws -> Commit {
        let path = commitPath(id)
        return try CanonicalJSON.decode(Commit.self, from: readVerified(path, id), what: relative(path))
    }

    /// Whether commit `id` is in the store.
    public func containsCommit(_ id: SHA256Digest) -> Bool { FileSystem.exists(commitPath(id)) }

    /// Writes content-named bytes unless the name already exists.
    private func writeNamed(_ bytes: [UInt8], to path: String) throws {
        if FileSystem.exists(path) { return }
        let file = try makeTemporaryFile(hint: "manifest")
        do {
            try bytes.withUnsafeBytes { try file.write($0) }
            try beforeUnflushedWrite()
            try file.finish(movingTo: path, durable: !defersSync)
        } catch {
            file.discard()
            throw error
        }
    }

    private func readVerified(_ path: String, _ id: SHA256Digest) throws -> [UInt8] {
        guard FileSystem.exists(path) else { throw StrataError(.notFound, "\(relative(path)) is not in the store") }
        let bytes = try FileReader.readAll(path)
        let actual = SHA256Digest.of(bytes)
        guard actual == id else {
            throw StrataError(
                .verificationFailed, "\(relative(path)): content hashes to \(actual.hex), expected \(id.hex)")
        }
        return bytes
    }
}
