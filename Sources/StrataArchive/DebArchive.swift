// Reading a Debian binary package (.deb, deb(5)) in one streaming pass, without unpacking it.
//
// A .deb is an `ar` archive whose members are, in this order:
//   debian-binary          "2.0\n"
//   control.tar[.gz|.xz|.zst]                 control, md5sums, conffiles, maintainer scripts, …
//   data.tar[.gz|.xz|.zst|.bz2|.lzma]         the files, paths like `./usr/bin/env`
// Members whose names start with `_` (signatures) may follow debian-binary and are skipped, as
// dpkg does. The tars are read by a nested libarchive reader (MemberTarReader.swift), so
// data.tar is decompressed as it is consumed. We do not support the old (0.93) format or
// multi-part packages (dpkg-split).
import CArchive
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads .deb files.
public enum DebArchive {
    /// The largest control.tar content we accept, summed over its members.
    static let controlLimit = 64 << 20

    /// Reads the package at `path`: first its control members, then every data entry in
    /// archive order.
    ///
    /// - Parameters:
    ///   - path: the .deb file.
    ///   - control: called once with the control members (`control`, `md5sums`, `conffiles`,
    ///     `preinst`, `postinst`, `prerm`, `postrm`, `config`, `templates`, `triggers`,
    ///     `shlibs`, `symbols`, …) by normalised name.
    ///   - data: called for each data.tar entry (directories included; the root is `""`) with a
    ///     ``FileContent`` that streams a regular file's bytes. Content left unread is skipped.
    /// - Throws: ``StrataError`` `.invalidInput` naming the .deb (and the member path) for a
    ///   bad ar layout, a corrupt or truncated member, a path with `..` or NUL, or a hard link
    ///   target with `..`; `.io` when the file cannot be opened; whatever the callbacks throw.
    public static func read(
        _ path: String, control: ([String: [UInt8]]) throws -> Void,
        data: (ArchiveEntry, FileContent) throws -> Void
    ) throws {
        guard let outer = archive_read_new() else { throw StrataError.internalError("archive_read_new failed") }
        defer { archive_read_free(outer) }
        try archive_read_support_format_ar(outer).check(outer, .internalError, "\(path): enabling ar")
        guard access(path, R_OK) == 0 else { throw StrataError(.io, "\(path): cannot read the file") }
        try archive_read_open_filename(outer, path, 1 << 16).check(outer, .invalidInput, "\(path): not a .deb")

        enum Stage { case start, afterBinary, afterControl, afterData }
        var stage = Stage.start
        while true {
            var native: OpaquePointer?
            let status = archive_read_next_header(outer, &native)
            if status == ARCHIVE_EOF { break }
            try status.check(outer, .invalidInput, "\(path): bad ar archive", allowWarn: true)
            guard let native, let name = ArchiveEntry.string(archive_entry_pathname(native)) else {
                throw StrataError(.invalidInput, "\(path): ar member without a readable name")
            }
            let member = "\(path): \(name)"
            switch stage {
            case .start:
                guard name == "debian-binary" else {
                    throw StrataError(.invalidInput, "\(path): first member is '\(name)', not debian-binary")
                }
                let version = try readSmall(outer, limit: 64, what: member)
                guard version.starts(with: Array("2.".utf8)) else {
                    throw StrataError(
                        .invalidInput,
                        "\(member): unsupported format version '\(String(decoding: version, as: UTF8.self))'")
                }
                stage = .afterBinary
            case _ where name.hasPrefix("_"):
                continue
            case .afterBinary:
                guard isMember(name, base: "control.tar", suffixes: ["", ".gz", ".xz", ".zst"]) else {
                    throw StrataError(
                        .invalidInput, "\(path): expected control.tar after debian-binary, found '\(name)'")
                }
                try control(try readControl(outer, what: member))
                stage = .afterControl
            case .afterControl:
                guard isMember(name, base: "data.tar", suffixes: ["", ".gz", ".xz", ".zst", ".bz2", ".lzma"]) else {
                    throw StrataError(.invalidInput, "\(path): expected data.tar after control.tar, found '\(name)'")
                }
                try readData(outer, what: member, data)
                stage = .afterData
            case .afterData:
                throw StrataError(.invalidInput, "\(path): unexpected member '\(name)' after data.tar")
            }
        }
        guard stage == .afterData else {
            throw StrataError(
                .invalidInput, "\(path): truncated .deb (no \(stage == .afterControl ? "data" : "control").tar)")
        }
    }

    private static func isMember(_ name: String, base: String, suffixes: [String]) -> Bool {
        suffixes.contains { name == base + $0 }
    }

    /// The whole current member of `outer`, refusing more than `limit` bytes.
    private static func readSmall(_ outer: OpaquePointer, limit: Int, what: String) throws -> [UInt8] {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { archive_read_data(outer, $0.baseAddress, $0.count) }
            if n == 0 { return out }
            guard n > 0 else { throw StrataError(.invalidInput, "\(what): \(libarchiveError(outer))") }
            guard out.count + n <= limit else {
                throw StrataError(.invalidInput, "\(what): larger than \(limit) bytes")
            }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// The regular files of the control.tar in the current member, by normalised name.
    private static func readControl(_ outer: OpaquePointer, what: String) throws -> [String: [UInt8]] {
        let tar = try MemberTarReader(outer: outer, what: what)
        var members: [String: [UInt8]] = [:]
        var total = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while let native = try tar.nextHeader() {
            let entry = try UTF8Locale.with { try ArchiveEntry(reading: native, what: what) }
            guard entry.kind == .file else { continue }
            var bytes = [UInt8]()
            while true {
                let n = try tar.readData(into: buffer)
                if n == 0 { break }
                total += n
                guard total <= controlLimit else {
                    throw StrataError(.invalidInput, "\(what): control members larger than \(controlLimit) bytes")
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            members[entry.path] = bytes
        }
        return members
    }

    /// Reports every entry of the data.tar in the current member.
    private static func readData(
        _ outer: OpaquePointer, what: String, _ body: (ArchiveEntry, FileContent) throws -> Void
    ) throws {
        let tar = try MemberTarReader(outer: outer, what: what)
        while let native = try tar.nextHeader() {
            let entry = try UTF8Locale.with { try ArchiveEntry(reading: native, what: what) }
            let state = FileContent.State(
                read: entry.kind == .file ? tar.readData(into:) : nil, member: "\(what): \(entry.path)",
                expected: entry.size)
            defer { state.usable = false }
            try body(entry, FileContent(state: state))
        }
    }
}
