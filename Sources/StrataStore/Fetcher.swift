import StrataCore

/// How the rest of strata gets bytes from a repository into the blob store. Parsers and
/// packagers depend on this protocol only; `StrataFetch` implements it over HTTP.
public protocol Fetcher: Sendable {
    /// Downloads `url` into the blob store unless a blob with `expected` is already there.
    ///
    /// - Parameters:
    ///   - expected: the digest a verified index names; the content is refused when it differs.
    ///   - size: the size the index names; a longer body is cut off and refused.
    /// - Returns: the digest the content is stored under.
    /// - Throws: ``StrataError`` `.verificationFailed` (digest or size mismatch, nothing stored),
    ///   `.notFound` (HTTP 404), `.network`.
    func fetch(_ url: String, expected: SHA256Digest?, size: UInt64?) async throws -> SHA256Digest

    /// Fetches a file whose content changes over time (`InRelease`, `repomd.xml`), revalidating a
    /// previous copy with a conditional request.
    /// - Returns: the digest of the current content, or `nil` when the server says 404.
    func fetchMutable(_ url: String) async throws -> SHA256Digest?

    /// The blob store the fetcher writes to.
    var store: BlobStore { get }
}
