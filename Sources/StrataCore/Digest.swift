import Crypto
import Foundation

/// A SHA-256 digest, kept as 64 lowercase hex characters (the form indexes, lockfiles and the
/// blob store's paths use).
public struct SHA256Digest: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let hex: String

    /// - Throws: ``StrataError`` `.invalidInput` unless `hex` is 64 hex digits.
    public init(hex: String) throws {
        let lower = hex.lowercased()
        guard lower.utf8.count == 64, lower.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { throw StrataError(.invalidInput, "not a sha256 digest: '\(hex)'") }
        self.hex = lower
    }

    init(verified hex: String) { self.hex = hex }

    public init(from decoder: any Decoder) throws {
        try self.init(hex: decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }

    public var description: String { hex }
    public static func < (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool { lhs.hex < rhs.hex }

    /// The digest of `bytes`.
    public static func of<D: DataProtocol>(_ bytes: D) -> SHA256Digest {
        SHA256Digest(verified: SHA256.hash(data: bytes).hexString)
    }

    /// The digest of a file's content, read in 1 MiB pieces.
    /// - Throws: ``StrataError`` `.io` when the file cannot be read.
    public static func of(file path: String) throws -> SHA256Digest {
        var hasher = StreamingSHA256()
        try FileReader.forEachChunk(of: path) { hasher.update($0) }
        return hasher.finalize()
    }
}

/// Incremental SHA-256 over bytes as they arrive (downloads, decompression).
public struct StreamingSHA256: Sendable {
    private var hasher = SHA256()
    public private(set) var count = 0
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        count += bytes.count
    }
    public mutating func update<D: DataProtocol>(_ bytes: D) {
        hasher.update(data: bytes)
        count += bytes.count
    }
    public func finalize() -> SHA256Digest { SHA256Digest(verified: hasher.finalize().hexString) }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex of the bytes.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Other digests the package formats use.
public enum Digests {
    /// The MD5 of a file, as dpkg's `md5sums` and `Conffiles` record it (integrity bookkeeping,
    /// not security).
    public static func md5(file path: String) throws -> String {
        var hasher = Insecure.MD5()
        try FileReader.forEachChunk(of: path) { hasher.update(bufferPointer: $0) }
        return hasher.finalize().hexString
    }
}
