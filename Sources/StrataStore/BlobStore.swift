// The blob store: files named by the SHA-256 of their content.
//
//   <root>/blobs/sha256/<64 hex>   complete, verified content; never modified, only removed by gc
//   <root>/tmp/                     files being written; renamed into blobs/ once verified
//
// Package downloads, index files and the proxy's cache share this layout, so one .deb fetched
// from two mirrors is one blob. A blob is only ever created by rename(2) of a complete file whose
// digest was computed while it was written, so a name always matches its content.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public struct BlobStore: Sendable {
    public let root: String

    /// Opens (creating when needed) the blob store under `root`.
    /// - Throws: ``StrataError`` `.io` when the directories cannot be created.
    public init(root: String) throws {
        self.root = root
        for dir in ["\(root)/blobs/sha256", "\(root)/tmp"] {
            try FileSystem.makeDirectories(dir)
        }
    }

    /// The blob store under `root` as it is, creating nothing: for readers of a store that may
    /// not have downloaded anything yet (a missing `blobs/sha256/` holds no blobs).
    public init(existing root: String) {
        self.root = root
    }

    /// Where the blob with `digest` lives (whether or not it exists).
    public func path(of digest: SHA256Digest) -> String { "\(root)/blobs/sha256/\(digest.hex)" }

    public func contains(_ digest: SHA256Digest) -> Bool { access(path(of: digest), F_OK) == 0 }

    /// A new, empty, exclusively created file under `tmp/`, for a writer to fill.
    public func makeTemporaryFile(hint: String = "blob") throws -> TemporaryFile {
        try TemporaryFile(directory: "\(root)/tmp", hint: hint)
    }

    /// Replaces the small file `path` inside the store with `bytes`, atomically: written under
    /// `tmp/` (where fsck and gc know a writer's leftovers) and renamed into place, so a writer
    /// killed halfway leaves nothing beside the records.
    public func replace(_ path: String, with bytes: [UInt8], hint: String, durable: Bool = true) throws {
        try FileSystem.writeAtomically(bytes, to: path, durable: durable, temporaryDirectory: "\(root)/tmp", hint: hint)
    }

    /// Moves a completely written temporary file into the store.
    ///
    /// - Parameters:
    ///   - file: the file, closed by this call; removed if anything is wrong.
    ///   - actual: the digest computed while the file was written.
    ///   - expected: the digest a signed index promised, if any.
    ///   - what: how to name the content in an error (a URL, a package).
    /// - Returns: the digest under which the content is now stored.
    /// - Throws: ``StrataError`` `.verificationFailed` naming both digests when they differ.
    @discardableResult
    public func commit(
        _ file: TemporaryFile, actual: SHA256Digest, expected: SHA256Digest?, what: String
    ) throws -> SHA256Digest {
        if let expected, expected != actual {
            file.discard()
            throw StrataError(
                .verificationFailed, "\(what): sha256 mismatch: expected \(expected.hex), got \(actual.hex)")
        }
        try file.finish(movingTo: path(of: actual))
        return actual
    }

    /// Copies a local file into the store (hashing it while copying).
    public func ingest(file source: String, expected: SHA256Digest? = nil) throws -> SHA256Digest {
        let temp = try makeTemporaryFile()
        var hasher = StreamingSHA256()
        do {
            try FileReader.forEachChunk(of: source) { chunk in
                hasher.update(chunk)
                try temp.write(chunk)
            }
        } catch {
            temp.discard()
            throw error
        }
        return try commit(temp, actual: hasher.finalize(), expected: expected, what: source)
    }

    /// Stores `bytes` directly.
    public func ingest(bytes: [UInt8], expected: SHA256Digest? = nil, what: String) throws -> SHA256Digest {
        let temp = try makeTemporaryFile()
        do {
            try bytes.withUnsafeBytes { try temp.write($0) }
        } catch {
            temp.discard()
            throw error
        }
        return try commit(temp, actual: SHA256Digest.of(bytes), expected: expected, what: what)
    }

    /// Takes the blob `digest` from `other` (a store with the same layout, such as the proxy's
    /// cache): a hardlink where both are on one file system, else a copy; either way the content is
    /// hashed first and refused when it does not match its name.
    /// - Throws: ``StrataError`` `.verificationFailed` for a blob whose content is not its name.
    public func adopt(from other: BlobStore, _ digest: SHA256Digest) throws {
        let source = other.path(of: digest)
        let temp = "\(root)/tmp/adopt.\(digest.hex.prefix(16)).\(getpid())"
        unlink(temp)
        guard link(source, temp) == 0 else {
            _ = try ingest(file: source, expected: digest)
            return
        }
        do {
            let actual = try SHA256Digest.of(file: temp)
            guard actual == digest else {
                throw StrataError(
                    .verificationFailed, "\(source): sha256 mismatch: named \(digest.hex), content \(actual.hex)")
            }
            guard rename(temp, path(of: digest)) == 0 else {
                throw StrataError(.io, "cannot move \(temp) into \(root): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// Re-hashes every blob and returns those whose content does not match their name.
    public func verifyAll() throws -> [SHA256Digest] {
        var bad = [SHA256Digest]()
        let dir = "\(root)/blobs/sha256"
        for name in try FileSystem.names(in: dir) {
            guard let digest = try? SHA256Digest(hex: name) else { continue }
            if try SHA256Digest.of(file: "\(dir)/\(name)") != digest { bad.append(digest) }
        }
        return bad
    }
}
