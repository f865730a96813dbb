// Loading verified rpm-md indexes into a libsolv pool. libsolv's rpm-md reader takes each
// package's name, EVR, arch, requires/provides/conflicts/obsoletes, the file provides primary
// lists, `<location href>`, the `<checksum type="sha256" pkgid="YES">` of the .rpm and
// `<size package=…>`. The result is written as `<store>/cache/solv/<sha256 of primary>.v1.solv`,
// which later runs load instead, keyed by the compressed file's digest as for Debian.
import Foundation
import StrataArchive
import StrataCore
import StrataSolver
import StrataStore

extension SolvPool {
    /// Adds the packages of `indexes` as a repository named after the template's repository.
    ///
    /// - Parameters:
    ///   - indexes: what ``RpmRepositoryClient/fetchIndexes(_:)`` returned.
    ///   - store: the blob store holding the primary file; its `cache/solv/` holds the `.solv` cache.
    /// - Throws: ``StrataError`` `.invalidInput` when the pool is not an rpm pool, when the primary
    ///   file is corrupt or libsolv cannot read it; `.verificationFailed` when the decompressed
    ///   primary differs from repomd.xml's `open-checksum`; `.io` when the cache cannot be written.
    public func addRPM(_ indexes: RpmRepositoryIndexes, store: BlobStore) throws {
        let what = "\(indexes.source.baseURL)/\(indexes.primary.location)"
        guard family == .rpm else {
            throw StrataError(.invalidInput, "\(what): rpm metadata cannot go into a \(family) pool")
        }
        let cacheDir = "\(store.root)/cache/solv"
        try FileSystem.makeDirectories(cacheDir)
        let repo = makeRepo(name: indexes.source.name)
        let cachePath = "\(cacheDir)/\(indexes.primary.sha256.hex).v1.solv"
        if FileManager.default.fileExists(atPath: cachePath), (try? repo.addSolvFile(cachePath)) != nil {
            return
        }
        let bytes = try Decompressor.decompress(file: store.path(of: indexes.primary.sha256), what: what)
        if let openSize = indexes.primary.openSize, UInt64(bytes.count) != openSize {
            throw StrataError(
                .verificationFailed, "\(what): decompresses to \(bytes.count) bytes, repomd.xml says \(openSize)")
        }
        if let open = indexes.primary.openSHA256, SHA256Digest.of(bytes) != open {
            throw StrataError(
                .verificationFailed,
                "\(what): decompressed sha256 \(SHA256Digest.of(bytes).hex) differs from repomd.xml's open-checksum \(open.hex)"
            )
        }
        try repo.addRPMPrimary(bytes, what: what)
        repo.internalize()
        try repo.write(toSolvFile: cachePath, temporaryDirectory: "\(store.root)/tmp")
    }
}
