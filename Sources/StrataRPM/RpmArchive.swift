// Reading an rpm binary package in one pass, without unpacking it: the twin of StrataArchive's
// DebArchive, reporting the same (ArchiveEntry, FileContent) pairs so one import path takes both.
//
// An rpm file (rpm's doc/manual/format.md, the LSB's "Package File Format") is, in order:
//   lead            96 bytes, obsolete but checked ("\xed\xab\xee\xdb")
//   signature       a header structure: sizes and digests of what follows, maybe signatures
//   header          the package's metadata: name, files with their owners and modes, scripts, …
//   payload         a cpio archive (newc) compressed with gzip, xz, zstd, …, to the end of file
// librpm reads the first three (RpmHeader+Reading.swift); libarchive reads the payload
// (StrataArchive's CpioPayload). As rpm itself does, we take each file's metadata from the
// header, never from the cpio (whose owners are all 0), match every payload path against the
// header's file list (RpmArchive+Payload.swift), and check the header's SHA-256 payload digest.
// Not supported: source packages, payloads other than cpio, files of 4 GiB or more (their
// "stripped" cpio), relocation (`--prefix`), and signature checks (the caller checks the file's
// digest against signed repository metadata instead).
import StrataArchive
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads .rpm files.
public enum RpmArchive {
    /// Reads the package at `path`: first its header, then every payload entry.
    ///
    /// Entries carry the header's metadata: permission bits from `FILEMODES`, owner and group
    /// by name (`uid` and `gid` are 0; resolve the names against the tree's passwd and group
    /// once `%pre` has run), `FILEMTIMES`, and a file capability as the `security.capability`
    /// extended attribute. Of a hard-link set, the path whose payload entry carries the data is
    /// reported first, as `.file`, and the others after it as `.hardlink` to that path,
    /// whatever their order in the payload. `%ghost` files, and directories the payload leaves
    /// out, appear in the header only.
    ///
    /// The payload digest can only be checked at its end, so when this throws, discard
    /// everything `entry` was given.
    ///
    /// - Parameters:
    ///   - path: the .rpm file.
    ///   - what: names the package in errors (`"bash-5.2.26-3.fc40.x86_64"`).
    ///   - header: called once, before any entry.
    ///   - entry: called for each payload entry (paths normalised, `usr/bin/env`; `""` for `/`)
    ///     with a ``FileContent`` that streams a regular file's bytes. Content left unread is
    ///     skipped.
    /// - Throws: ``StrataError`` naming `what`: `.invalidInput` with librpm's or libarchive's
    ///   words for a file that is not an rpm or is corrupt or truncated, and naming the path for
    ///   a payload path that is absolute, has `..` or NUL, is not in the header, appears twice or
    ///   has another type than the header says, or a header file missing from the payload;
    ///   `.verificationFailed` when the payload's SHA-256 is not the header's; `.io` when the
    ///   file cannot be read; whatever the callbacks throw.
    @available(*, noasync)
    public static func read(
        _ path: String, what: String, header: (RpmHeader) throws -> Void,
        entry: (ArchiveEntry, FileContent) throws -> Void
    ) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw StrataError(.io, "\(what): cannot open \(path): \(StrataError.reason(errno: errno))")
        }
        defer { close(fd) }
        let head = try PackageHead.read(fileDescriptor: fd, what: what)
        var matcher = try PayloadMatcher(head: head, what: what)
        try header(head.header)

        var hasher = StreamingSHA256()
        try CpioPayload.read(
            fileDescriptor: fd, offset: head.payloadOffset, what: what, tap: { hasher.update($0) },
            member: { member, content in try matcher.accept(member, content, entry) })
        if let expected = head.payloadSHA256 {
            let actual = hasher.finalize().hex
            guard actual == expected else {
                throw StrataError(
                    .verificationFailed,
                    "\(what): payload digest mismatch: sha256 \(actual), the header says \(expected)")
            }
        }
        try matcher.finish()
    }

    /// Reads only the header of the package at `path`.
    ///
    /// - Parameters:
    ///   - path: the .rpm file.
    ///   - what: names the package in errors.
    /// - Returns: the header.
    /// - Throws: ``StrataError`` `.invalidInput` with librpm's words for a file that is not an
    ///   rpm or whose header is corrupt; `.io` when the file cannot be read.
    @available(*, noasync)
    public static func readHeader(_ path: String, what: String) throws -> RpmHeader {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw StrataError(.io, "\(what): cannot open \(path): \(StrataError.reason(errno: errno))")
        }
        defer { close(fd) }
        return try PackageHead.read(fileDescriptor: fd, what: what).header
    }
}
