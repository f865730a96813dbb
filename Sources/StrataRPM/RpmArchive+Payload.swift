// Matching an rpm's cpio payload against its header, as rpm's installer does (lib/rpmfi.c,
// iterReadArchiveNext) but stricter: every payload path must be a file the header lists, once,
// with the type the header gives it, and every file the header lists (but %ghosts, and
// directories) must be in the payload. The payload's own metadata is ignored: owners, modes,
// times and capabilities come from the header.
//
// Hard links: rpm writes a set's paths one after another and only the last carries the data,
// the others having size 0. We report the data-carrying path first as `.file` and the rest as
// `.hardlink` to it, holding back the empty ones until the data arrives (which is the set's last
// path in rpm's order, or the first with data in any other).
import StrataArchive
import StrataCore

/// Checks payload members against the header and turns them into ``ArchiveEntry``s.
struct PayloadMatcher {
    private let files: [RpmFile]
    private let what: String
    /// Header files by normalised relative path (`usr/bin/env`, `""` for `/`).
    private let index: [String: Int]
    /// Which header files the payload has had.
    private var seen: [Bool]
    /// The `security.capability` value of each file that has capabilities.
    private let capabilities: [Int: [UInt8]]

    /// One hard-link set's progress through the payload.
    private struct LinkSet {
        let members: [Int]
        var arrived = 0
        /// The path reported as `.file`, once it has been.
        var target: String?
        /// Empty links that arrived before the data, waiting for it.
        var pending: [Int] = []
        /// The capabilities the set's inode gets (rpm sets them through every path that has them).
        var xattrs: [String: [UInt8]] = [:]
    }

    private var sets: [LinkSet]
    /// The set each hard-linked file belongs to.
    private let setOf: [Int: Int]

    /// Prepares to match the payload of `head`.
    /// - Throws: ``StrataError`` `.invalidInput` for capabilities that cannot be stored, a
    ///   hard-link set whose paths give different capabilities, a root that is not a directory.
    init(head: PackageHead, what: String) throws {
        files = head.header.files
        self.what = what
        var index: [String: Int] = [:]
        var capabilities: [Int: [UInt8]] = [:]
        for (i, file) in files.enumerated() {
            let relative = String(file.path.dropFirst())
            if relative.isEmpty && file.mode & RpmFileType.typeMask != RpmFileType.directory {
                throw StrataError(.invalidInput, "\(what): the header lists '/' as something other than a directory")
            }
            index[relative] = i
            if let text = file.capabilities {
                do {
                    capabilities[i] = try FileCapabilities(text: text).xattr
                } catch let error as StrataError {
                    throw StrataError(.invalidInput, "\(what): \(file.path): \(error.message)")
                }
            }
        }
        self.index = index
        self.capabilities = capabilities
        seen = Array(repeating: false, count: files.count)

        var setOf: [Int: Int] = [:]
        var sets: [LinkSet] = []
        let files = self.files
        for members in head.hardlinkSets {
            var set = LinkSet(members: members)
            let values = Set(members.compactMap { capabilities[$0] })
            guard values.count <= 1 else {
                throw StrataError(
                    .invalidInput,
                    "\(what): hard links \(members.map { files[$0].path }.joined(separator: ", ")) "
                        + "have different capabilities")
            }
            if let value = values.first { set.xattrs["security.capability"] = value }
            for member in members { setOf[member] = sets.count }
            sets.append(set)
        }
        self.sets = sets
        self.setOf = setOf
    }

    /// Checks one payload member and reports what it stands for.
    ///
    /// - Parameters:
    ///   - member: the member as the cpio stores it.
    ///   - content: its data.
    ///   - report: ``RpmArchive``'s entry callback.
    /// - Throws: ``StrataError`` `.invalidInput` naming the package and path; whatever
    ///   `report` throws.
    mutating func accept(
        _ member: CpioPayload.Member, _ content: FileContent, _ report: (ArchiveEntry, FileContent) throws -> Void
    ) throws {
        let relative = try Self.normalise(member.path, what: what)
        let shown = "/" + relative
        guard let i = index[relative] else {
            throw StrataError(
                .invalidInput, "\(what): payload path \(Self.quoted(member.path)) is not in the header's file list")
        }
        guard !seen[i] else {
            throw StrataError(.invalidInput, "\(what): payload has '\(shown)' twice")
        }
        seen[i] = true
        let file = files[i]
        // rpm before 4.11 sometimes put %ghost files in the payload; rpm skips them, as we do.
        if file.flags.contains(.ghost) { return }
        let type = file.mode & RpmFileType.typeMask
        guard member.mode & RpmFileType.typeMask == type else {
            throw StrataError(
                .invalidInput,
                "\(what): payload has '\(shown)' as \(RpmFileType.describe(member.mode)), the header says \(RpmFileType.describe(file.mode))"
            )
        }

        switch type {
        case RpmFileType.regular:
            if let s = setOf[i] {
                try acceptLink(i, set: s, member: member, content: content, report)
                return
            }
            guard member.size == file.size else {
                throw StrataError(
                    .invalidInput,
                    "\(what): payload has \(member.size) bytes for '\(shown)', the header says \(file.size)")
            }
            try report(entry(i, .file, xattrs: capabilities[i].map { ["security.capability": $0] } ?? [:]), content)
        case RpmFileType.directory:
            try report(entry(i, .directory), content)
        case RpmFileType.symlink:
            guard let target = file.linkTarget, member.symlinkTarget == target else {
                throw StrataError(
                    .invalidInput,
                    "\(what): payload's symlink '\(shown)' points to \(Self.quoted(member.symlinkTarget ?? "")), "
                        + "the header says \(Self.quoted(file.linkTarget ?? ""))")
            }
            try report(entry(i, .symlink(target: target)), content)
        case RpmFileType.characterDevice, RpmFileType.blockDevice:
            // FILERDEVS holds Linux's old 16-bit dev_t: major in the high byte, minor in the low.
            let major = (file.rdev >> 8) & 0xff
            let minor = file.rdev & 0xff
            let kind: ArchiveEntry.Kind =
                type == RpmFileType.characterDevice
                ? .characterDevice(major: major, minor: minor) : .blockDevice(major: major, minor: minor)
            try report(entry(i, kind), content)
        case RpmFileType.fifo:
            try report(entry(i, .fifo), content)
        default:
            throw StrataError(
                .invalidInput, "\(what): '\(shown)' is \(RpmFileType.describe(file.mode)), which strata cannot unpack")
        }
    }

    /// A regular file of hard-link set `s`: held back, reported with the data, or reported as a
    /// link to the path that was.
    private mutating func acceptLink(
        _ i: Int, set s: Int, member: CpioPayload.Member, content: FileContent,
        _ report: (ArchiveEntry, FileContent) throws -> Void
    ) throws {
        let file = files[i]
        sets[s].arrived += 1
        if let target = sets[s].target {
            guard member.size == 0 else {
                throw StrataError(
                    .invalidInput, "\(what): hard link '\(file.path)' carries data again after '/\(target)'")
            }
            try report(entry(i, .hardlink(target: target)), FileContent.empty(member: "\(what): \(file.path)"))
            return
        }
        let isLast = sets[s].arrived == sets[s].members.count
        guard member.size > 0 || isLast else {
            sets[s].pending.append(i)
            return
        }
        guard member.size == file.size else {
            throw StrataError(
                .invalidInput,
                "\(what): payload has \(member.size) bytes for hard link '\(file.path)', the header says \(file.size)")
        }
        let target = String(file.path.dropFirst())
        sets[s].target = target
        try report(entry(i, .file, xattrs: sets[s].xattrs), content)
        for earlier in sets[s].pending {
            try report(
                entry(earlier, .hardlink(target: target)), FileContent.empty(member: "\(what): \(files[earlier].path)"))
        }
        sets[s].pending = []
    }

    /// Refuses the end of the payload when a file the header lists was not in it.
    /// - Throws: ``StrataError`` `.invalidInput` naming the first missing file.
    func finish() throws {
        for (i, file) in files.enumerated() where !seen[i] && !file.flags.contains(.ghost) {
            // A directory is fully described by the header; rpm writes them all, but the caller
            // can make one from the header alone.
            if file.mode & RpmFileType.typeMask == RpmFileType.directory { continue }
            throw StrataError(.invalidInput, "\(what): '\(file.path)' is in the header but not in the payload")
        }
    }

    /// The entry for header file `i`: the header's metadata, owners by name only.
    private func entry(_ i: Int, _ kind: ArchiveEntry.Kind, xattrs: [String: [UInt8]] = [:]) -> ArchiveEntry {
        let file = files[i]
        return ArchiveEntry(
            path: String(file.path.dropFirst()), kind: kind, mode: file.mode & 0o7777, uname: file.user,
            gname: file.group, mtime: file.mtime, size: kind == .file ? file.size : 0, xattrs: xattrs)
    }

    /// A payload path made relative: a leading `./` (or a lone `.`) removed and empty and `.`
    /// components dropped, so `./usr/bin/env` is `usr/bin/env` and `./` is `""`.
    ///
    /// - Throws: ``StrataError`` `.invalidInput` naming the package and path for a NUL byte, a
    ///   `..` component, or a path that is still absolute once `./` is removed.
    static func normalise(_ raw: String, what: String) throws -> String {
        guard !raw.utf8.contains(0) else {
            throw StrataError(.invalidInput, "\(what): payload path \(quoted(raw)) contains a NUL byte")
        }
        var rest = Substring(raw)
        if rest.hasPrefix("./") {
            rest = rest.dropFirst(2)
        } else if rest == "." {
            rest = ""
        }
        guard !rest.hasPrefix("/") else {
            throw StrataError(.invalidInput, "\(what): payload path \(quoted(raw)) is absolute")
        }
        var components: [Substring] = []
        for component in rest.split(separator: "/", omittingEmptySubsequences: true) where component != "." {
            guard component != ".." else {
                throw StrataError(.invalidInput, "\(what): payload path \(quoted(raw)) contains '..'")
            }
            components.append(component)
        }
        return components.joined(separator: "/")
    }

    /// `raw` in quotes, control characters shown as `\u{…}`.
    static func quoted(_ raw: String) -> String { ArchivePath.quoted(raw) }
}

/// `st_mode` file-type bits, as rpm's FILEMODES and the cpio store them.
enum RpmFileType {
    static let typeMask = FileTypeBits.mask
    static let regular = FileTypeBits.regular
    static let directory = FileTypeBits.directory
    static let symlink = FileTypeBits.symlink
    static let characterDevice = FileTypeBits.characterDevice
    static let blockDevice = FileTypeBits.blockDevice
    static let fifo = FileTypeBits.fifo
    static let socket = FileTypeBits.socket

    /// The type in words, for errors.
    static func describe(_ mode: UInt32) -> String {
        switch mode & typeMask {
        case regular: return "a regular file"
        case directory: return "a directory"
        case symlink: return "a symlink"
        case characterDevice: return "a character device"
        case blockDevice: return "a block device"
        case fifo: return "a fifo"
        case socket: return "a socket"
        default: return "file type 0o\(String(mode & typeMask, radix: 8))"
        }
    }
}
