// File object ids: the SHA-256 of a canonical header naming the metadata, followed by the content
// digest. The same content with another mode, owner or xattr is another object, so an object can
// be hardlinked into a tree as is (ostree's "bare" mode). The hashed bytes, version 1:
//
//   "strata-object-v1\0"
//   "mode=<octal, no leading zeros>\n"     permission bits only (0o7777: setuid, setgid, sticky)
//   "uid=<decimal>\n" "gid=<decimal>\n"
//   "mtime=<decimal seconds>\n"           only when not 0 (objects made before dates were kept)
//   per xattr, names sorted bytewise:  "xattr=<name>\0<value length, decimal>\n" <value bytes> "\n"
//   "content=sha256:<64 hex>\n"
//
// Names cannot hold NUL and values are length-prefixed, so the encoding is unambiguous. The mtime
// is the package's date of the file: dpkg leaves every file dated as its package does, and a
// hardlinked object shows its date in every tree, so two dates are two objects.
// `security.selinux` is never part of an object: a host with SELinux labels every new file itself.
import Foundation
import StrataCore

/// The metadata an object carries besides its content.
public struct FileMetadata: Hashable, Sendable, Codable {
    /// Permission bits, setuid, setgid and sticky included (at most 0o7777; no file-type bits).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Extended attributes by name (`security.capability`, `user.…`), raw values.
    public var xattrs: [String: [UInt8]]
    /// Modification time, seconds since the epoch (a file object's is its package's date; 0
    /// for none).
    public var mtime: Int64

    public init(mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, xattrs: [String: [UInt8]] = [:], mtime: Int64 = 0) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.xattrs = xattrs
        self.mtime = mtime
    }

    /// The xattr the host sets on every file it creates; never stored, never hashed.
    static let hostLabel = "security.selinux"

    /// - Throws: ``StrataError`` `.invalidInput` for file-type bits in `mode`, an empty xattr name
    ///   or one holding NUL, or `security.selinux`.
    func validate(_ what: String) throws {
        guard mode & ~0o7777 == 0 else {
            throw StrataError(.invalidInput, "\(what): mode \(String(mode, radix: 8)) has bits beyond 7777")
        }
        for name in xattrs.keys {
            guard !name.isEmpty, !name.utf8.contains(0) else {
                throw StrataError(.invalidInput, "\(what): invalid xattr name '\(name)'")
            }
            guard name != Self.hostLabel else {
                throw StrataError(.invalidInput, "\(what): \(Self.hostLabel) is the host's to set, not a package's")
            }
        }
    }

    /// The xattr names in canonical (bytewise) order.
    var sortedXattrNames: [String] { xattrs.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    enum CodingKeys: String, CodingKey { case mode, uid, gid, xattrs, mtime }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try OctalMode.decode(c, .mode)
        uid = try c.decode(UInt32.self, forKey: .uid)
        gid = try c.decode(UInt32.self, forKey: .gid)
        xattrs = try XattrCoding.decode(c, .xattrs)
        mtime = try c.decodeIfPresent(Int64.self, forKey: .mtime) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(String(mode, radix: 8), forKey: .mode)
        try c.encode(uid, forKey: .uid)
        try c.encode(gid, forKey: .gid)
        try XattrCoding.encode(xattrs, &c, .xattrs)
        if mtime != 0 { try c.encode(mtime, forKey: .mtime) }
    }
}

/// The id of a file object: 64 hex digits (see the top of this file for what is hashed).
public struct ObjectID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The id as a digest (the object's content has another digest).
    public let digest: SHA256Digest
    public var hex: String { digest.hex }
    public var description: String { digest.hex }

    /// - Throws: ``StrataError`` `.invalidInput` unless `hex` is 64 hex digits.
    public init(hex: String) throws { digest = try SHA256Digest(hex: hex) }

    init(digest: SHA256Digest) { self.digest = digest }

    /// The id of `contentDigest` with `metadata`; stable across releases for the same inputs.
    public init(contentDigest: SHA256Digest, metadata: FileMetadata) {
        var bytes = Array("strata-object-v1\0".utf8)
        bytes += Array("mode=\(String(metadata.mode & 0o7777, radix: 8))\n".utf8)
        bytes += Array("uid=\(metadata.uid)\ngid=\(metadata.gid)\n".utf8)
        if metadata.mtime != 0 { bytes += Array("mtime=\(metadata.mtime)\n".utf8) }
        for name in metadata.sortedXattrNames {
            let value = metadata.xattrs[name] ?? []
            bytes += Array("xattr=\(name)\0\(value.count)\n".utf8)
            bytes += value
            bytes.append(0x0a)
        }
        bytes += Array("content=sha256:\(contentDigest.hex)\n".utf8)
        digest = SHA256Digest.of(bytes)
    }

    public init(from decoder: any Decoder) throws {
        try self.init(hex: decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(digest.hex)
    }

    public static func < (lhs: ObjectID, rhs: ObjectID) -> Bool { lhs.digest < rhs.digest }
}

/// Modes are written as octal strings ("4755") so a manifest reads like `ls -l`.
enum OctalMode {
    static func decode<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> UInt32 {
        let text = try c.decode(String.self, forKey: key)
        guard let mode = UInt32(text, radix: 8), mode & ~0o7777 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "bad mode '\(text)'")
        }
        return mode
    }
}

/// Xattr values are written base64-encoded; the key is left out when there are none.
enum XattrCoding {
    static func decode<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> [String: [UInt8]] {
        guard let encoded = try c.decodeIfPresent([String: String].self, forKey: key) else { return [:] }
        var out = [String: [UInt8]]()
        for (name, text) in encoded {
            guard let bytes = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "xattr \(name): not base64")
            }
            out[name] = Array(bytes)
        }
        return out
    }

    static func encode<K: CodingKey>(
        _ xattrs: [String: [UInt8]], _ c: inout KeyedEncodingContainer<K>, _ key: K
    ) throws {
        guard !xattrs.isEmpty else { return }
        try c.encode(xattrs.mapValues { Data($0).base64EncodedString() }, forKey: key)
    }
}
