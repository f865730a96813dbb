// What import gives the rest of the pipeline: a package's entries (store objects, links,
// directories) in archive order, and the packager's own record of it (dpkg's control members,
// rpm's header), which only that packager reads.
import StrataCore

/// What a packager keeps of a package beside its tree in the store (`control/<blob>.json`).
public protocol PackageRecord: Codable, Sendable {
    /// The import format that wrote it; a record of another format makes the package be read again.
    var format: Int? { get }
    /// The package's name, as its tools name it.
    var name: String { get }
    /// The payload's paths in archive order (relative, no leading slash; "" is the root).
    var paths: [String] { get }
}

/// A package ready to compose.
public struct ImportedPackage<Record: PackageRecord>: Sendable {
    /// The package file's SHA-256 (its blob in the store).
    public var blob: SHA256Digest
    /// The package file itself (the blob), for a package tool that reads it (rpm --justdb).
    public var file: String
    public var record: Record
    /// What the package puts in the tree, parents before children, hardlink targets first.
    public var entries: [PackageEntry]

    public init(blob: SHA256Digest, file: String, record: Record, entries: [PackageEntry]) {
        self.blob = blob
        self.file = file
        self.record = record
        self.entries = entries
    }

    public var name: String { record.name }

    /// Paths that the package ships as hardlinks, with their targets (paths in the tree).
    public func declaredHardlinks(_ layout: TreeLayout) -> [String] {
        entries.flatMap { entry -> [String] in
            guard case .hardlink(let target) = entry.kind else { return [] }
            return [layout.path(entry.path), layout.path(target)]
        }
    }
}
