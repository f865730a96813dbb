// The device nodes and links a Debian root needs before anything runs in it (a chroot without
// /dev/null turns it into a regular file), as mmdebstrap creates them.
import StrataCore
import StrataPackaging

#if canImport(Glibc)
    import Glibc
#endif

enum DevNodes {
    static let characterDevices: [(name: String, major: UInt32, minor: UInt32, mode: mode_t)] = [
        ("console", 5, 1, 0o666), ("full", 1, 7, 0o666), ("null", 1, 3, 0o666), ("ptmx", 5, 2, 0o666), ("random", 1, 8, 0o666),
        ("tty", 5, 0, 0o666), ("urandom", 1, 9, 0o666), ("zero", 1, 5, 0o666),
    ]
    static let links = [
        ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ]

    static func create(in root: String) throws {
        let dev = "\(root)/dev"
        for dir in [dev, "\(dev)/pts", "\(dev)/shm"] {
            if mkdir(dir, 0o755) != 0, errno != EEXIST { throw StrataError(.io, "cannot create \(dir)") }
        }
        for node in characterDevices {
            let path = "\(dev)/\(node.name)"
            unlink(path)
            guard mknod(path, S_IFCHR | node.mode, Composer.device(node.major, node.minor)) == 0 else {
                throw StrataError(.io, "cannot create device \(path): \(String(cString: strerror(errno))) (building needs root)")
            }
            chmod(path, node.mode)
        }
        for (name, target) in links {
            unlink("\(dev)/\(name)")
            guard symlink(target, "\(dev)/\(name)") == 0 else { throw StrataError(.io, "cannot create \(dev)/\(name)") }
        }
    }
}
