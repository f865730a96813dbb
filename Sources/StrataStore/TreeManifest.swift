// Tree manifests: every path of a package's payload or a composed template, with its type,
// metadata, link target or object id. Stored as `trees/<sha256 of the bytes>.json`.
//
// Canonical form, which the id is computed over: JSON with sorted keys and unescaped slashes, as
// Foundation's JSONEncoder writes it; entries sorted by path bytewise (so a directory precedes
// everything under it); one entry per path. An entry:
//
//   {"gid":0,"kind":"file","mode":"4755","object":"<64 hex>","path":"usr/bin/su","size":72000,"uid":0,
//    "xattrs":{"security.capability":"<base64>"}}
//
// `mode` is octal permission bits (file type is `kind`); `xattrs` is left out when empty; `mtime`
// (seconds) is left out when 0: package trees carry the package's date of every path (a file's
// object carries it too), a template's tree the dates of its files (clamped to its epoch). Paths are
// relative ("usr/bin/su"), the root directory is ".". `target` is a symlink's target (any string)
// or, for a hardlink, the path of another entry in the same tree. Files repeat their object's
// metadata so a store written without root (objects owned by the caller) still knows it.
// Not supported: file names that are not UTF-8.
import Foundation
import StrataCore

/// One path in a tree.
public struct TreeEntry: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo
    }

    /// Relative path without a leading "/" ("usr/bin/su"); "." is the root directory.
    public var path: String
    public var kind: Kind
    /// Permission bits (0o7777 at most).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var xattrs: [String: [UInt8]]
    /// The file object (files only).
    public var object: ObjectID?
    /// The content length (files only).
    public var size: UInt64?
    /// A symlink's target, or the path of the entry a hardlink shares its inode with.
    public var target: String?
    /// Device numbers (character and block devices only).
    public var major: UInt32?
    public var minor: UInt32?
    /// The modification time the package gave the path (seconds since the epoch), kept for
    /// package trees so an export can date each file as its package does; absent in trees
    /// that do not record it.
    public var mtime: Int64?

    /// - Parameter mtime: the path's date; default: the metadata's, when it has one.
    public init(
        path: String, kind: Kind, metadata: FileMetadata, object: ObjectID? = nil, size: UInt64? = nil,
        target: String? = nil, major: UInt32? = nil, minor: UInt32? = nil, mtime: Int64? = nil
    ) {
        self.path = path
        self.kind = kind
        self.mode = metadata.mode
        self.uid = metadata.uid
        self.gid = metadata.gid
        self.xattrs = metadata.xattrs
        self.object = object
        self.size = size
        self.target = target
        self.major = major
        self.minor = minor
        self.mtime = mtime ?? (metadata.mtime != 0 ? metadata.mtime : nil)
    }

    /// A regular file stored as `object`.
    public static func file(_ path: String, object: ObjectID, size: UInt64, metadata: FileMetadata) -> TreeEntry {
        TreeEntry(path: path, kind: .file, metadata: metadata, object: object, size: size)
    }

    public static func directory(_ path: String, metadata: FileMetadata) -> TreeEntry {
        TreeEntry(path: path, kind: .directory, metadata: metadata)
    }

    public static func symlink(_ path: String, target: String, metadata: FileMetadata) -> TreeEntry {
        TreeEntry(path: path, kind: .symlink, metadata: metadata, target: target)
    }

    /// The mode, owner and xattrs as one value.
    public var metadata: FileMetadata { FileMetadata(mode: mode, uid: uid, gid: gid, xattrs: xattrs, mtime: mtime ?? 0) }

    enum CodingKeys: String, CodingKey { case path, kind, mode, uid, gid, xattrs, object, size, target, major, minor, mtime }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        kind = try c.decode(Kind.self, forKey: .kind)
        mode = try OctalMode.decode(c, .mode)
        uid = try c.decode(UInt32.self, forKey: .uid)
        gid = try c.decode(UInt32.self, forKey: .gid)
        xattrs = try XattrCoding.decode(c, .xattrs)
        object = try c.decodeIfPresent(ObjectID.self, forKey: .object)
        size = try c.decodeIfPresent(UInt64.self, forKey: .size)
        target = try c.decodeIfPresent(String.self, forKey: .target)
        major = try c.decodeIfPresent(UInt32.self, forKey: .major)
        minor = try c.decodeIfPresent(UInt32.self, forKey: .minor)
        mtime = try c.decodeIfPresent(Int64.self, forKey: .mtime)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(kind, forKey: .kind)
        try c.encode(String(mode, radix: 8), forKey: .mode)
        try c.encode(uid, forKey: .uid)
        try c.encode(gid, forKey: .gid)
        try XattrCoding.encode(xattrs, &c, .xattrs)
        try c.encodeIfPresent(object, forKey: .object)
        try c.encodeIfPresent(size, forKey: .size)
        try c.encodeIfPresent(target, forKey: .target)
        try c.encodeIfPresent(major, forKey: .major)
        try c.encodeIfPresent(minor, forKey: .minor)
        try c.encodeIfPresent(mtime, forKey: .mtime)
    }
}

/// Every path of a tree. Build it in any order; ``canonicalized()`` sorts it.
public struct TreeManifest: Hashable, Sendable, Codable {
    public var entries: [TreeEntry]

    public init(entries: [TreeEntry]) { self.entries = entries }

    /// The entries sorted by path bytewise.
    public func canonicalized() -> TreeManifest {
        TreeManifest(entries: entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) })
    }

    /// The canonical bytes (of the sorted manifest), which the tree's id is the SHA-256 of.
    /// - Throws: ``StrataError`` `.invalidInput` for an invalid entry (see ``validate()``).
    public func canonicalBytes() throws -> [UInt8] {
        let sorted = canonicalized()
        try sorted.validate()
        return try CanonicalJSON.encode(sorted)
    }

    /// Checks what the format promises: sorted unique valid paths, and per kind the right fields.
    /// - Throws: ``StrataError`` `.invalidInput` naming the first bad entry.
    public func validate() throws {
        var previous: String?
        var kinds = [String: TreeEntry.Kind]()
        for entry in entries {
            let what = "tree entry '\(entry.path)'"
            guard Self.isValidPath(entry.path) else { throw StrataError(.invalidInput, "\(what): invalid path") }
            if let previous {
                guard previous.utf8.lexicographicallyPrecedes(entry.path.utf8) else {
                    throw StrataError(
                        .invalidInput, previous == entry.path ? "\(what): listed twice" : "\(what): out of order")
                }
            }
            previous = entry.path
            kinds[entry.path] = entry.kind
            try entry.metadata.validate(what)
            try entry.validateFields(what)
        }
        for entry in entries where entry.kind == .hardlink {
            guard let target = entry.target, let kind = kinds[target], kind != .directory, kind != .hardlink else {
                throw StrataError(
                    .invalidInput,
                    "tree entry '\(entry.path)': hardlink target '\(entry.target ?? "")' is not a "
                        + "non-directory entry of the tree")
            }
        }
    }

    /// Relative, no empty, "." or ".." components, no NUL; or "." alone for the root.
    static func isValidPath(_ path: String) -> Bool {
        if path == "." { return true }
        guard !path.isEmpty, !path.utf8.contains(0) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }
}

extension TreeEntry {
    fileprivate func validateFields(_ what: String) throws {
        func refuse(_ problem: String) -> StrataError { StrataError(.invalidInput, "\(what): \(problem)") }
        let isDevice = kind == .characterDevice || kind == .blockDevice
        switch kind {
        case .file:
            guard object != nil, size != nil else { throw refuse("a file needs an object and a size") }
        case .symlink, .hardlink:
            guard let target, !target.isEmpty, !target.utf8.contains(0) else { throw refuse("needs a target") }
            if kind == .hardlink, !TreeManifest.isValidPath(target) { throw refuse("invalid hardlink target") }
        case .characterDevice, .blockDevice:
            guard major != nil, minor != nil else { throw refuse("a device needs major and minor numbers") }
        case .directory, .fifo:
            break
        }
        if kind != .file, object != nil || size != nil { throw refuse("only files have an object and a size") }
        if kind != .symlink, kind != .hardlink, target != nil { throw refuse("only links have a target") }
        if !isDevice, major != nil || minor != nil { throw refuse("only devices have device numbers") }
        if path == ".", kind != .directory { throw refuse("the root must be a directory") }
    }
}

/// The one JSON encoding whose bytes are hashed: sorted keys, slashes unescaped, no whitespace.
enum CanonicalJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw StrataError(.invalidInput, "cannot encode \(T.self): \(error)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw StrataError(.verificationFailed, "\(what): not a valid \(T.self): \(StrataError.reason(of: error))")
        }
    }
}
