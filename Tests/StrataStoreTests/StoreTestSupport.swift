import Foundation
import StrataCore
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh store in a directory of its own.
func makeStore() throws -> Store {
    try Store(root: NSTemporaryDirectory() + "strata-store-\(UUID().uuidString)")
}

let isRoot = geteuid() == 0

/// Flips one bit of a file in place (same inode, owner and mode), as disk damage would.
func flipByte(_ path: String, at offset: UInt64) throws {
    let handle = try requireHandleImpl(path)
    defer { try? handle.close() }
    try handle.seek(toOffset: offset)
    let byte = try handle.read(upToCount: 1) ?? Data()
    try handle.seek(toOffset: offset)
    try handle.write(contentsOf: Data([(byte.first ?? 0) ^ 0x01]))
}

private func requireHandleImpl(_ path: String) throws -> FileHandle {
    guard let handle = FileHandle(forUpdatingAtPath: path) else {
        throw StrataError(.io, "cannot open \(path) for update")
    }
    return handle
}

func filesIn(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory)
}

func stat(of path: String) throws -> stat {
    var st = Glibc.stat()
    guard lstat(path, &st) == 0 else { throw StrataError(.io, "cannot stat \(path)") }
    return st
}
