// A Debian repository's `Release` file (the signed part of `InRelease`): which index files exist,
// their sizes and SHA-256 digests, the suite's names and dates. Specified at
// https://wiki.debian.org/DebianRepository/Format. We read the SHA256 list only (MD5Sum and SHA1
// are not trusted); `Acquire-By-Hash: yes` lets index files be fetched by digest.
import Foundation
import StrataCore

public struct ReleaseFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var size: UInt64
        public var sha256: SHA256Digest
    }

    public var suite: String?
    public var codename: String?
    public var date: Date?
    public var validUntil: Date?
    public var architectures: [String]
    public var components: [String]
    public var acquireByHash: Bool
    /// Index files by path relative to `dists/<suite>/`.
    public var files: [String: Entry]

    /// Parses the (verified) text of a `Release` file.
    /// - Throws: ``StrataError`` `.invalidInput` naming `what` and the line of a malformed entry.
    public init(text: String, what: String) throws {
        guard let stanza = try Deb822.parse(text, what: what).first else {
            throw StrataError(.invalidInput, "\(what): empty Release file")
        }
        suite = stanza["Suite"]
        codename = stanza["Codename"]
        date = stanza["Date"].flatMap(ReleaseFile.parseDate)
        validUntil = stanza["Valid-Until"].flatMap(ReleaseFile.parseDate)
        architectures = stanza["Architectures"]?.split(separator: " ").map(String.init) ?? []
        components = stanza["Components"]?.split(separator: " ").map(String.init) ?? []
        acquireByHash = stanza["Acquire-By-Hash"]?.lowercased() == "yes"
        var files = [String: Entry]()
        for (offset, line) in (stanza["SHA256"] ?? "").split(separator: "\n").enumerated() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 3, let size = UInt64(parts[1]) else {
                throw StrataError(.invalidInput, "\(what): SHA256 entry \(offset + 1) is malformed: '\(line)'")
            }
            let path = String(parts[2])
            files[path] = Entry(path: path, size: size, sha256: try SHA256Digest(hex: String(parts[0])))
        }
        guard !files.isEmpty else { throw StrataError(.invalidInput, "\(what): no SHA256 index list") }
        self.files = files
    }

    /// RFC 2822 dates as Release files write them (`Sat, 10 Jun 2023 08:52:34 UTC`).
    static func parseDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEE, d MMM yyyy HH:mm:ss zzz", "EEE, dd MMM yyyy HH:mm:ss Z"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text.replacingOccurrences(of: "UTC", with: "GMT")) { return date }
        }
        return nil
    }
}
