import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Small POSIX file helpers shared by the modules that read files piecewise.
public enum FileReader {
    /// Calls `body` with successive pieces of the file at `path`.
    /// - Throws: ``StrataError`` `.io` naming the file when it cannot be opened or read.
    public static func forEachChunk(
        of path: String, chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StrataError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw StrataError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// The whole file as bytes.
    public static func readAll(_ path: String) throws -> [UInt8] {
        var out = [UInt8]()
        try forEachChunk(of: path) { out.append(contentsOf: $0) }
        return out
    }
}
