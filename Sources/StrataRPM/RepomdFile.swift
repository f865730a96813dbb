// An rpm-md repository's `repodata/repomd.xml`: the signed table of contents naming each metadata
// file (`primary`, `filelists`, `other`, …) with its location, checksum and size. Written by
// createrepo_c; the format is described at https://github.com/rpm-software-management/createrepo_c
// (doc/) and in yum's `yum/repoMDObject.py`:
//
//   <repomd xmlns="http://linux.duke.edu/metadata/repo">
//     <revision>1700000000</revision>
//     <data type="primary">
//       <checksum type="sha256">…</checksum>        of the compressed file
//       <open-checksum type="sha256">…</open-checksum>  of the decompressed content
//       <location href="repodata/…-primary.xml.gz"/>
//       <timestamp>1700000000</timestamp>
//       <size>586</size>
//       <open-size>2084</open-size>
//     </data> …
//
// Not supported: `xml:base` on `<location>` (metadata served from another host), zchunk
// (`primary_zck`) and the sqlite databases; strata reads `primary` only.
import Foundation
import StrataCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The parsed content of a `repomd.xml`.
public struct RepomdFile: Sendable, Equatable {
    /// A `<checksum>` or `<open-checksum>`: the algorithm as written (`sha256`, `sha`, `sha512`) and
    /// the digest in lowercase hex.
    public struct Checksum: Sendable, Hashable {
        public var type: String
        public var hex: String

        public init(type: String, hex: String) {
            self.type = type
            self.hex = hex
        }
    }

    /// One `<data type="…">` entry.
    public struct Entry: Sendable, Hashable {
        /// `primary`, `filelists`, `other`, `primary_db`, …
        public var type: String
        /// Relative to the repository root (`repodata/<hash>-primary.xml.gz`).
        public var location: String
        /// `<checksum>` of the file as stored.
        public var checksum: Checksum?
        /// `<open-checksum>` of the decompressed content.
        public var openChecksum: Checksum?
        /// `<size>`: the file's size in bytes.
        public var size: UInt64?
        /// `<open-size>`: the decompressed size in bytes.
        public var openSize: UInt64?
        /// `<timestamp>`: when the file was generated.
        public var timestamp: Date?
    }

    /// `<revision>`, verbatim (createrepo_c writes the generation time in seconds; it may be any string).
    public var revision: String?
    /// The `<data>` entries by type.
    public var entries: [String: Entry]

    /// Parses the (verified) bytes of a `repomd.xml`.
    /// - Parameters:
    ///   - bytes: the file's content.
    ///   - what: how to name the file in errors (its URL).
    /// - Throws: ``StrataError`` `.invalidInput` naming `what` and the line for malformed XML, a
    ///   `<data>` without a location, or a location that leaves the repository.
    public init(bytes: [UInt8], what: String) throws {
        let delegate = RepomdParserDelegate()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        guard parser.parse(), delegate.failure == nil else {
            let reason = delegate.failure ?? parser.parserError.map { "\($0.localizedDescription)" } ?? "unknown error"
            throw StrataError(.invalidInput, "\(what):\(parser.lineNumber): not a valid repomd.xml: \(reason)")
        }
        guard delegate.sawRoot else { throw StrataError(.invalidInput, "\(what): no <repomd> element") }
        // XMLParser accepts a document whose elements are never closed; a cut-off file is not one.
        guard delegate.closedRoot else {
            throw StrataError(
                .invalidInput,
                "\(what):\(parser.lineNumber): not a valid repomd.xml: it ends before </repomd> (truncated?)")
        }
        var entries = [String: Entry]()
        for data in delegate.entries {
            guard let location = data.location, !location.isEmpty else {
                throw StrataError(.invalidInput, "\(what): <data type=\"\(data.type)\"> has no <location href>")
            }
            guard !location.hasPrefix("/"), !location.contains("://"),
                !location.split(separator: "/").contains("..")
            else {
                throw StrataError(
                    .invalidInput, "\(what): <data type=\"\(data.type)\"> location '\(location)' leaves the repository")
            }
            entries[data.type] = Entry(
                type: data.type, location: location, checksum: data.checksum, openChecksum: data.openChecksum,
                size: data.size, openSize: data.openSize, timestamp: data.timestamp)
        }
        revision = delegate.revision
        self.entries = entries
    }
}

/// Collects `repomd.xml` elements; XMLParser calls it on the parsing thread, synchronously.
private final class RepomdParserDelegate: NSObject, XMLParserDelegate {
    struct DataElement {
        var type: String
        var location: String?
        var checksum: RepomdFile.Checksum?
        var openChecksum: RepomdFile.Checksum?
        var size: UInt64?
        var openSize: UInt64?
        var timestamp: Date?
    }

    var sawRoot = false
    var closedRoot = false
    var revision: String?
    var entries: [DataElement] = []
    var failure: String?
    private var current: DataElement?
    private var path: [String] = []
    private var text = ""
    private var checksumType = ""

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        path.append(elementName)
        text = ""
        switch (path.count, elementName) {
        case (1, "repomd"): sawRoot = true
        case (2, "data"):
            guard let type = attributes["type"], !type.isEmpty else {
                fail(parser, "<data> without a type attribute")
                return
            }
            current = DataElement(type: type)
        case (3, "location"):
            if attributes["xml:base"] != nil || attributes["base"] != nil {
                fail(parser, "<location xml:base=…> (metadata on another host) is not supported")
            }
            current?.location = attributes["href"]
        case (3, "checksum"), (3, "open-checksum"): checksumType = attributes["type"] ?? ""
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
    ) {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch (path.count, elementName) {
        case (1, "repomd"): closedRoot = true
        case (2, "revision"): revision = value
        case (2, "data"):
            if let current { entries.append(current) }
            current = nil
        case (3, "checksum"): current?.checksum = .init(type: checksumType.lowercased(), hex: value.lowercased())
        case (3, "open-checksum"):
            current?.openChecksum = .init(type: checksumType.lowercased(), hex: value.lowercased())
        case (3, "size"): current?.size = number(parser, value, elementName)
        case (3, "open-size"): current?.openSize = number(parser, value, elementName)
        case (3, "timestamp"):
            guard let seconds = Double(value) else {
                fail(parser, "<timestamp> '\(value)' is not a number")
                break
            }
            current?.timestamp = Date(timeIntervalSince1970: seconds)
        default: break
        }
        path.removeLast()
        text = ""
    }

    private func number(_ parser: XMLParser, _ value: String, _ element: String) -> UInt64? {
        guard let number = UInt64(value) else {
            fail(parser, "<\(element)> '\(value)' is not a number")
            return nil
        }
        return number
    }

    private func fail(_ parser: XMLParser, _ message: String) {
        if failure == nil { failure = message }
        parser.abortParsing()
    }
}
