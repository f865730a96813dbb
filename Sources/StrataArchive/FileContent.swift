// The bytes of one regular file inside an archive that is being streamed: valid only while the
// entry is current (the callback it is handed to), readable once, never buffered whole. The same
// type serves a .deb's data.tar and an rpm's cpio payload, so import code takes either.
import StrataCore

/// Streams the content of the entry ``DebArchive/read(_:control:data:)`` or
/// ``CpioPayload/read(fileDescriptor:offset:what:tap:member:)`` is reporting.
///
/// Use it only inside the callback it was passed to, and at most once; afterwards it throws.
/// For entries other than regular files it yields no chunks.
public struct FileContent {
    final class State {
        /// Reads the next bytes of the entry into the buffer: a count, 0 at its end.
        let read: ((UnsafeMutableRawBufferPointer) throws -> Int)?
        let member: String
        let expected: UInt64
        var usable = true

        init(read: ((UnsafeMutableRawBufferPointer) throws -> Int)?, member: String, expected: UInt64) {
            self.read = read
            self.member = member
            self.expected = expected
        }
    }

    let state: State

    init(state: State) { self.state = state }

    /// Content that yields no chunks, for an entry without bytes of its own (a hard link, a
    /// directory) that a reader reports after the archive has moved past it.
    ///
    /// - Parameter member: names the archive and entry in errors.
    public static func empty(member: String) -> FileContent {
        FileContent(state: State(read: nil, member: member, expected: 0))
    }

    /// Calls `body` with successive pieces of the file, in order. Each buffer is valid only
    /// during its call.
    ///
    /// - Throws: ``StrataError`` `.invalidInput` when the data is corrupt or shorter or longer
    ///   than the header says; `.internalError` when called twice or after its callback returned;
    ///   whatever `body` throws.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard state.usable else {
            throw StrataError.internalError("\(state.member): content read twice or outside its callback")
        }
        state.usable = false
        guard let read = state.read else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let n = try read(buffer)
            if n == 0 { break }
            total += UInt64(n)
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        guard total == state.expected else {
            throw StrataError(
                .invalidInput, "\(state.member): \(total) bytes of content, header says \(state.expected)")
        }
    }
}

@available(*, unavailable)
extension FileContent: Sendable {}
