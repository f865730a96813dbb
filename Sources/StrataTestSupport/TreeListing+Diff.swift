// Comparing two tree listings path by path. An allowlist names paths to leave out on both sides,
// as shell patterns on the relative path (fnmatch(3) without FNM_PATHNAME, so `var/lib/rpm/*`
// takes everything below var/lib/rpm); the known leftovers of a reference installer are in
// DnfOracle.leftoverPatterns.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How one path differs between a tree and a reference tree.
public struct TreeDifference: Sendable, Hashable, CustomStringConvertible {
    /// One way a path differs; a path may differ in several.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The path is in this tree only.
        case onlyInTree
        /// The path is in the reference only.
        case onlyInReference
        /// Different file types (tree, reference).
        case kind(TreeListing.Entry.Kind, TreeListing.Entry.Kind)
        /// Different permission bits.
        case mode(UInt32, UInt32)
        /// Different numeric owner or group, or different names for them (`uid:gid(user:group)`).
        case owner(String, String)
        /// Different symlink targets.
        case symlinkTarget(String?, String?)
        /// Different content (SHA-256, size shown).
        case content(String, String)
        /// Different `security.capability` xattrs (hex, `none`).
        case capability(String?, String?)
        /// Different sets of other names for the same inode.
        case hardlinks(String?, String?)
        /// Different device numbers.
        case device(String?, String?)
        /// Different modification times (only when asked for).
        case modificationTime(Int64, Int64)

        public var description: String {
            switch self {
            case .onlyInTree: "only in the tree"
            case .onlyInReference: "only in the reference"
            case .kind(let a, let b): "type \(a.rawValue), reference \(b.rawValue)"
            case .mode(let a, let b): "mode \(String(a, radix: 8)), reference \(String(b, radix: 8))"
            case .owner(let a, let b): "owner \(a), reference \(b)"
            case .symlinkTarget(let a, let b): "symlink -> \(a ?? "none"), reference -> \(b ?? "none")"
            case .content(let a, let b): "content \(a), reference \(b)"
            case .capability(let a, let b): "capability \(a ?? "none"), reference \(b ?? "none")"
            case .hardlinks(let a, let b): "hardlinked with \(a ?? "nothing"), reference with \(b ?? "nothing")"
            case .device(let a, let b): "device \(a ?? "none"), reference \(b ?? "none")"
            case .modificationTime(let a, let b): "mtime \(a), reference \(b)"
            }
        }
    }

    /// The relative path.
    public let path: String
    /// Every way it differs.
    public let reasons: [Reason]

    /// `path: reason; reason`.
    public var description: String { "\(path): " + reasons.map(\.description).joined(separator: "; ") }
}

extension TreeListing {
    /// Compares this tree with `reference`, path by path.
    ///
    /// - Parameters:
    ///   - reference: the tree made by the reference tool.
    ///   - allowlist: fnmatch(3) patterns on relative paths (`var/log/dnf*.log`,
    ///     `var/lib/rpm/*`); matching paths are ignored on both sides.
    ///   - compareModificationTimes: also report different mtimes (off: scriptlets' files get the
    ///     time of the install).
    /// - Returns: the differences, sorted by path; empty when the trees agree.
    public func diff(
        against reference: TreeListing, allowlist: [String] = [], compareModificationTimes: Bool = false
    ) -> [TreeDifference] {
        func allowed(_ path: String) -> Bool { allowlist.contains { fnmatch($0, path, 0) == 0 } }
        let ours = Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let theirs = Dictionary(reference.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var differences: [TreeDifference] = []
        for path in Set(ours.keys).union(theirs.keys).sorted() where !allowed(path) {
            switch (ours[path], theirs[path]) {
            case (.some(let a), .some(let b)):
                let reasons = Self.reasons(a, b, compareModificationTimes: compareModificationTimes)
                if !reasons.isEmpty { differences.append(TreeDifference(path: path, reasons: reasons)) }
            case (.some, .none):
                differences.append(TreeDifference(path: path, reasons: [.onlyInTree]))
            case (.none, .some):
                differences.append(TreeDifference(path: path, reasons: [.onlyInReference]))
            case (.none, .none):
                break
            }
        }
        return differences
    }

    private static func reasons(_ a: Entry, _ b: Entry, compareModificationTimes: Bool) -> [TreeDifference.Reason] {
        guard a.kind == b.kind else { return [.kind(a.kind, b.kind)] }
        var reasons: [TreeDifference.Reason] = []
        // A symlink's permission bits mean nothing on Linux.
        if a.kind != .symlink, a.mode != b.mode { reasons.append(.mode(a.mode, b.mode)) }
        if a.uid != b.uid || a.gid != b.gid || a.user != b.user || a.group != b.group {
            func owner(_ e: Entry) -> String { "\(e.uid):\(e.gid)(\(e.user ?? "?"):\(e.group ?? "?"))" }
            reasons.append(.owner(owner(a), owner(b)))
        }
        if a.symlinkTarget != b.symlinkTarget { reasons.append(.symlinkTarget(a.symlinkTarget, b.symlinkTarget)) }
        if a.sha256 != b.sha256 {
            func content(_ e: Entry) -> String { "\(e.sha256?.prefix(12) ?? "none") (\(e.size ?? 0) bytes)" }
            reasons.append(.content(content(a), content(b)))
        }
        if a.capability != b.capability { reasons.append(.capability(a.capability, b.capability)) }
        if a.hardlinkGroup != b.hardlinkGroup { reasons.append(.hardlinks(a.hardlinkGroup, b.hardlinkGroup)) }
        if a.device != b.device { reasons.append(.device(a.device, b.device)) }
        if compareModificationTimes, a.modificationTime != b.modificationTime {
            reasons.append(.modificationTime(a.modificationTime, b.modificationTime))
        }
        return reasons
    }
}
