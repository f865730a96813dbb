// Writing and reading file objects (`objects/<2 hex>/<62 hex>`, ids in ObjectID.swift).
//
// An object is created from a file the caller filled under tmp/: its owner, mode, xattrs and
// mtime are applied through the open descriptor, then it is flushed and renamed into place.
// Nothing writes to an object afterwards; checkouts hardlink it and overlayfs copies it up before
// anything changes it.
import CStrataShim
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// Where object `id` lives (whether or not it exists).
    public func objectPath(_ id: ObjectID) -> String {
        let hex = id.hex
        return "\(objectsDirectory)/\(hex.prefix(2))/\(hex.dropFirst(2))"
    }

    /// Whether object `id` is in the store.
    public func containsObject(_ id: ObjectID) -> Bool { FileSystem.exists(objectPath(id)) }

    /// Stores a file the caller wrote (hashing it as it went) as an object with `metadata`.
    ///
    /// When the object already exists the file is discarded. Otherwise its owner (`fchown`), mode
    /// (`fchmod`, after the owner since chown clears setuid), xattrs (`fsetxattr`, after the owner
    /// since chown clears `security.capability`) and its mtime are applied before it is flushed
    /// and renamed into place.
    ///
    /// Without root, `fchown` and privileged xattrs fail with EPERM: the object then keeps the
    /// caller's owner and lacks those xattrs, and the metadata lives in the tree manifests only
    /// (which `fsck` then uses to check the object). A store meant for building templates runs as
    /// root; CI does.
    ///
    /// - Parameters:
    ///   - file: a file from ``makeTemporaryFile(hint:)``; closed by this call, and removed unless it
    ///     became the object.
    ///   - contentDigest: the SHA-256 of the content, computed while it was written.
    ///   - size: the content's length; checked against the file.
    ///   - metadata: what the object carries besides its content.
    /// - Returns: the object's id.
    /// - Throws: ``StrataError`` `.invalidInput` for bad metadata, `.verificationFailed` when the
    ///   file's size differs from `size`, `.io` when metadata cannot be applied or the rename fails.
    @discardableResult
    public func addObject(
        _ file: TemporaryFile, contentDigest: SHA256Digest, size: UInt64, metadata: FileMetadata
    ) throws -> ObjectID {
        do {
            try metadata.validate(file.path)
            let id = ObjectID(contentDigest: contentDigest, metadata: metadata)
            let destination = objectPath(id)
            if FileSystem.exists(destination) {
                file.discard()
                return id
            }
            var st = stat()
            guard fstat(file.fd, &st) == 0 else { throw Self.ioError("cannot stat", file.path) }
            guard UInt64(st.st_size) == size else {
                throw StrataError(
                    .verificationFailed, "\(file.path): \(st.st_size) bytes written, \(size) expected")
            }
            try apply(metadata, to: file.fd, path: file.path)
            try FileSystem.makeDirectories((destination as NSString).deletingLastPathComponent)
            try beforeUnflushedWrite()
            try file.finish(movingTo: destination, durable: !defersSync, startWriteback: true)
            return id
        } catch {
            file.discard()
            throw error
        }
    }

    /// Stores `bytes` as an object with `metadata` (small files, tests).
    @discardableResult
    public func addObject(bytes: [UInt8], metadata: FileMetadata) throws -> ObjectID {
        let file = try makeTemporaryFile()
        do {
            try bytes.withUnsafeBytes { try file.write($0) }
        } catch {
            file.discard()
            throw error
        }
        return try addObject(
            file, contentDigest: SHA256Digest.of(bytes), size: UInt64(bytes.count), metadata: metadata)
    }

    /// The metadata object `id` carries on disk: mode, owner, xattrs (`security.selinux` left out), mtime.
    /// - Throws: ``StrataError`` `.notFound` when there is no such object, `.io`.
    public func diskMetadata(ofObject id: ObjectID) throws -> FileMetadata {
        let path = objectPath(id)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw StrataError(.notFound, "no object \(id.hex) (\(path))") }
            throw Self.ioError("cannot open", path)
        }
        defer { close(fd) }
        return try Self.readMetadata(fd: fd, path: path)
    }

    private func apply(_ metadata: FileMetadata, to fd: Int32, path: String) throws {
        let privileged = geteuid() == 0
        if fchown(fd, metadata.uid, metadata.gid) != 0 {
            guard errno == EPERM, !privileged else { throw Self.ioError("cannot chown", path) }
        }
        guard fchmod(fd, mode_t(metadata.mode)) == 0 else { throw Self.ioError("cannot chmod", path) }
        for name in metadata.sortedXattrNames {
            let value = metadata.xattrs[name] ?? []
            let rc = value.withUnsafeBytes { strata_fsetxattr(fd, name, $0.baseAddress, $0.count) }
            if rc != 0 {
                guard errno == EPERM, !privileged else {
                    throw Self.ioError("cannot set xattr \(name) on", path)
                }
            }
        }
        let date = timespec(tv_sec: Int(metadata.mtime), tv_nsec: 0)
        var times = [date, date]
        guard futimens(fd, &times) == 0 else { throw Self.ioError("cannot set the times of", path) }
    }

    /// Mode, owner, xattrs and mtime (whole seconds) of an open file, as ``FileMetadata``.
    static func readMetadata(fd: Int32, path: String) throws -> FileMetadata {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError("cannot stat", path) }
        return FileMetadata(
            mode: UInt32(st.st_mode) & 0o7777, uid: st.st_uid, gid: st.st_gid,
            xattrs: try readXattrs(fd: fd, path: path), mtime: Int64(st.st_mtim.tv_sec))
    }

    static func readXattrs(fd: Int32, path: String) throws -> [String: [UInt8]] {
        var listSize = strata_flistxattr(fd, nil, 0)
        if listSize < 0 {
            if errno == ENOTSUP { return [:] }
            throw ioError("cannot list xattrs of", path)
        }
        guard listSize > 0 else { return [:] }
        var list = [CChar](repeating: 0, count: listSize)
        listSize = list.withUnsafeMutableBufferPointer { strata_flistxattr(fd, $0.baseAddress, $0.count) }
        guard listSize >= 0 else { throw ioError("cannot list xattrs of", path) }
        var xattrs = [String: [UInt8]]()
        let names = list.prefix(listSize).split(separator: 0).map {
            String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        for name in names where name != FileMetadata.hostLabel {
            let size = strata_fgetxattr(fd, name, nil, 0)
            guard size >= 0 else { throw ioError("cannot read xattr \(name) of", path) }
            var value = [UInt8](repeating: 0, count: size)
            let read = value.withUnsafeMutableBytes { strata_fgetxattr(fd, name, $0.baseAddress, $0.count) }
            guard read >= 0 else { throw ioError("cannot read xattr \(name) of", path) }
            xattrs[name] = Array(value.prefix(read))
        }
        return xattrs
    }

    static func ioError(_ what: String, _ path: String) -> StrataError {
        StrataError(.io, "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// Giving an open file in a tree another owner without losing what chown(2) drops.
public enum Ownership {
    /// Sets `uid`/`gid` on `fd`, then the mode and the extended attributes the file had:
    /// chown clears setuid/setgid bits and the kernel removes `security.capability` with it.
    public static func change(fd: Int32, uid: UInt32, gid: UInt32, mode: UInt32, path: String) throws {
        let xattrs = try Store.readXattrs(fd: fd, path: path)
        guard fchown(fd, uid, gid) == 0 else { throw Store.ioError("cannot chown", path) }
        guard fchmod(fd, mode_t(mode & 0o7777)) == 0 else { throw Store.ioError("cannot chmod", path) }
        for name in xattrs.keys.sorted() {
            let value = xattrs[name] ?? []
            guard value.withUnsafeBytes({ strata_fsetxattr(fd, name, $0.baseAddress, $0.count) }) == 0 else {
                throw Store.ioError("cannot set xattr \(name) on", path)
            }
        }
    }
}

extension Ownership {
    /// Sets extended attributes on the file or directory open as `fd` (a checkout's directories).
    public static func setXattrs(_ xattrs: [String: [UInt8]], fd: Int32, path: String) throws {
        for name in xattrs.keys.sorted() {
            let value = xattrs[name] ?? []
            guard value.withUnsafeBytes({ strata_fsetxattr(fd, name, $0.baseAddress, $0.count) }) == 0 else {
                throw Store.ioError("cannot set xattr \(name) on", path)
            }
        }
    }
}
