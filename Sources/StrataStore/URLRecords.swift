// What was last fetched from a URL whose content changes (InRelease, repomd.xml): the digest of
// the content and the HTTP validators to revalidate it. One small JSON file per URL under
// `<root>/urls/`, named by the SHA-256 of the URL, replaced atomically.
import Foundation
import StrataCore

public struct URLRecord: Codable, Sendable, Equatable {
    public var url: String
    public var sha256: SHA256Digest
    public var etag: String?
    public var lastModified: String?

    public init(url: String, sha256: SHA256Digest, etag: String?, lastModified: String?) {
        self.url = url
        self.sha256 = sha256
        self.etag = etag
        self.lastModified = lastModified
    }
}

public struct URLRecords: Sendable {
    let store: BlobStore
    var directory: String { "\(store.root)/urls" }

    public init(store: BlobStore) { self.store = store }

    private func path(for url: String) -> String { "\(directory)/\(SHA256Digest.of(Array(url.utf8)).hex)" }

    /// The record for `url`, or nil when there is none or it cannot be read.
    public func record(for url: String) -> URLRecord? {
        guard let data = FileManager.default.contents(atPath: path(for: url)),
            let record = try? JSONDecoder().decode(URLRecord.self, from: data), record.url == url
        else { return nil }
        return record
    }

    public func save(_ record: URLRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try store.replace(path(for: record.url), with: Array(try encoder.encode(record)), hint: "url")
    }
}
