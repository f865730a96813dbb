// Commits: a tree plus where it came from. Stored as `commits/<sha256 of the bytes>.json`, in the
// same canonical JSON as trees (TreeManifest.swift):
//
//   {"lockDigest":"<64 hex>","metadata":{…},"origin":{"base":"…","set":"minbase","target":"…"},
//    "parents":["<64 hex>"],"timestamp":1700000000,"tree":"<64 hex>"}
//
// The timestamp is the caller's (SOURCE_DATE_EPOCH), never the wall clock, so two builds from one
// lock make the same commit.
import StrataCore

/// A tree with its lock, origin and build metadata.
public struct Commit: Hashable, Sendable, Codable {
    /// The tree manifest's id.
    public var tree: SHA256Digest
    /// Earlier commits this one was built from (a template's base, the previous build).
    public var parents: [SHA256Digest]
    /// The lockfile the tree was built from.
    public var lockDigest: SHA256Digest?
    /// Where the tree came from: target, package set, base, packages added.
    public var origin: [String: String]
    /// Anything else the builder records.
    public var metadata: [String: String]
    /// Seconds since the epoch, given by the caller (SOURCE_DATE_EPOCH), not the wall clock.
    public var timestamp: Int64

    public init(
        tree: SHA256Digest, parents: [SHA256Digest] = [], lockDigest: SHA256Digest? = nil,
        origin: [String: String] = [:], metadata: [String: String] = [:], timestamp: Int64
    ) {
        self.tree = tree
        self.parents = parents
        self.lockDigest = lockDigest
        self.origin = origin
        self.metadata = metadata
        self.timestamp = timestamp
    }
}
