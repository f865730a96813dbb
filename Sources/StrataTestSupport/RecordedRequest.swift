// The request log of a LoopbackHTTPServer: enough to assert "apt fetched InRelease once, then
// got a 304", "the proxy asked upstream for by-hash", "nothing was downloaded twice".

/// One request as the server saw and answered it.
public struct RecordedRequest: Sendable, Hashable {
    /// `GET`, `HEAD`, …
    public let method: String
    /// The decoded path without the query (`/dists/stable/InRelease`).
    public let path: String
    /// The request's conditional, range and identification headers, by lowercase name:
    /// `if-modified-since`, `if-none-match`, `if-range`, `range`, `user-agent`, `connection`,
    /// `cache-control`, `host`.
    public let headers: [String: String]
    /// The status answered (a truncated response counts as its 200).
    public let status: Int

    /// The header names kept in ``headers``.
    public static let recordedHeaderNames: Set<String> = [
        "if-modified-since", "if-none-match", "if-range", "range", "user-agent", "connection", "cache-control", "host",
    ]
}
