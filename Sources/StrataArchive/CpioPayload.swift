// Reading an rpm package's payload: a cpio archive in the SVR4 "newc" format (magic 070701; the
// LSB's "RPM Package Format", rpm's lib/cpio.c) compressed with gzip, xz, lzma, zstd or bzip2,
// or stored as is, from the end of the package header to the end of the file.
//
// StrataRPM reads the lead, signature and header with librpm and hands us the open file and the
// payload's offset; libarchive (which only this module touches) decompresses and walks the cpio
// while every raw byte read is shown to a `tap`, so the caller checks the header's payload
// digest in the same pass. Members are reported as stored, path verbatim: what they mean
// (owners, modes, hard links, which paths are allowed) is the header's business, not ours.
// libarchive 3.6 could also take the whole .rpm (its "rpm" filter skips lead, signature and
// header by their sizes, then the cpio reader runs), but the header would then be parsed twice
// and by two parsers that might disagree; here it is parsed once, by librpm.
// Not supported: rpm's "stripped" cpio (magic 07070X, written when a file is 4 GiB or larger),
// whose members carry only an index into the header.
import CArchive
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the cpio payload of an rpm package.
public enum CpioPayload {
    /// One member of the payload exactly as the cpio stores it.
    public struct Member: Sendable, Equatable {
        /// The path as stored (`./usr/bin/env`), neither normalised nor checked.
        public var path: String
        /// The full `st_mode`: file-type and permission bits.
        public var mode: UInt32
        /// The data length of a regular file (rpm stores 0 for every link of a hard-link set but
        /// the one carrying the data); 0 for every other type.
        public var size: UInt64
        /// A symbolic link's target, which the cpio stores as the member's data.
        public var symlinkTarget: String?

        /// Creates a member.
        public init(path: String, mode: UInt32, size: UInt64, symlinkTarget: String? = nil) {
            self.path = path
            self.mode = mode
            self.size = size
            self.symlinkTarget = symlinkTarget
        }
    }

    /// Reads the payload of the package open as `fileDescriptor`, from `offset` to the end of
    /// the file, reporting every member in archive order.
    ///
    /// - Parameters:
    ///   - fileDescriptor: the package, open for reading; read with `pread`, so its file offset
    ///     is left alone. Not closed.
    ///   - offset: where the payload starts (just after the header).
    ///   - what: names the package in errors (`"bash-5.2.26-3.fc40.x86_64.rpm"`).
    ///   - tap: shown every raw (still compressed) byte from `offset` to the end of the file,
    ///     once and in order, including any bytes after the cpio trailer.
    ///   - member: called for each member with a ``FileContent`` streaming a regular file's data.
    ///     Data left unread is skipped.
    /// - Throws: ``StrataError`` `.invalidInput` naming `what` (and the member) for data that is
    ///   not a compressed newc cpio, is corrupt or truncated, or has a path that is not UTF-8;
    ///   `.io` when the file cannot be read; whatever `member` throws.
    public static func read(
        fileDescriptor: Int32, offset: Int64, what: String, tap: (UnsafeRawBufferPointer) -> Void,
        member: (Member, FileContent) throws -> Void
    ) throws {
        try withoutActuallyEscaping(tap) { tap in
            let source = PayloadSource(fd: fileDescriptor, offset: offset, tap: tap)
            let reader = try PayloadReader(source: source, what: what)
            var checkedFormat = false
            while let native = try reader.nextHeader() {
                if !checkedFormat {
                    // libarchive's cpio reader also takes odc, binary and afio; rpm writes only newc.
                    let format = archive_format(reader.handle)
                    guard format == ARCHIVE_FORMAT_CPIO_SVR4_NOCRC || format == ARCHIVE_FORMAT_CPIO_SVR4_CRC else {
                        let name = archive_format_name(reader.handle).map { String(cString: $0) } ?? "unknown"
                        throw StrataError(.invalidInput, "\(what): payload is \(name), not a newc cpio archive")
                    }
                    checkedFormat = true
                }
                let stored = try Member(reading: native, what: what)
                let isFile = stored.mode & FileTypeBits.mask == FileTypeBits.regular
                let state = FileContent.State(
                    read: isFile ? reader.readData(into:) : nil, member: "\(what): \(stored.path)",
                    expected: stored.size)
                defer { state.usable = false }
                try member(stored, FileContent(state: state))
            }
            // The digest covers the payload to the end of the file, past the cpio trailer.
            try source.drain(what: what)
        }
    }
}

extension CpioPayload.Member {
    /// The member libarchive's cpio reader just read.
    init(reading native: OpaquePointer, what: String) throws {
        guard let path = ArchiveEntry.string(archive_entry_pathname(native)) else {
            throw StrataError(.invalidInput, "\(what): a payload member path is missing or not UTF-8")
        }
        let mode = UInt32(archive_entry_mode(native))
        var target: String?
        if mode & FileTypeBits.mask == FileTypeBits.symlink {
            guard let stored = ArchiveEntry.string(archive_entry_symlink(native)) else {
                throw StrataError(
                    .invalidInput, "\(what): payload member \(ArchivePath.quoted(path)): symlink target is not UTF-8")
            }
            target = stored
        }
        let size = archive_entry_size_is_set(native) != 0 ? archive_entry_size(native) : 0
        guard size >= 0 else {
            throw StrataError(.invalidInput, "\(what): payload member \(ArchivePath.quoted(path)): negative size")
        }
        let isFile = mode & FileTypeBits.mask == FileTypeBits.regular
        self.init(path: path, mode: mode, size: isFile ? UInt64(size) : 0, symlinkTarget: target)
    }
}

/// Feeds the payload's raw bytes to libarchive with `pread`, showing each piece to the tap.
final class PayloadSource: ArchiveByteSource {
    let fd: Int32
    var position: Int64
    let tap: (UnsafeRawBufferPointer) -> Void
    let buffer: UnsafeMutableRawBufferPointer

    init(fd: Int32, offset: Int64, tap: @escaping (UnsafeRawBufferPointer) -> Void, bufferSize: Int = 1 << 16) {
        self.fd = fd
        self.position = offset
        self.tap = tap
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next bytes of the file into `buffer`: a count, 0 at the end, -1 on error.
    func next() -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(position))
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                failure = StrataError.reason(errno: errno)
                return -1
            }
            position += Int64(n)
            if n > 0 { tap(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
            return n
        }
    }

    override func read(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        let n = next()
        guard n >= 0 else { return Int(ARCHIVE_FATAL) }
        out.pointee = UnsafeRawPointer(buffer.baseAddress)
        return n
    }

    /// Reads (and taps) whatever libarchive left unread after the cpio trailer.
    func drain(what: String) throws {
        while true {
            let n = next()
            if n == 0 { return }
            guard n > 0 else { throw StrataError(.io, "\(what): reading the payload: \(failure ?? "read failed")") }
        }
    }
}


/// A libarchive cpio reader over a ``PayloadSource``. Not thread-safe, as libarchive is not.
typealias PayloadReader = StreamArchiveReader

extension StreamArchiveReader {
    /// Opens the payload; libarchive sniffs the compression from the first bytes.
    /// - Throws: ``StrataError`` `.invalidInput` when it is not a (compressed) cpio.
    convenience init(source: PayloadSource, what: String) throws {
        try self.init(source: source, what: what, format: "cpio", enable: archive_read_support_format_cpio) { failure in
            failure.map { "\(what): payload (read failed: \($0))" } ?? "\(what): payload"
        }
    }
}
