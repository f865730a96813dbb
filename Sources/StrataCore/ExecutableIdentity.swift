// Which build of strata is running, for caches of results that a new build might compute
// differently (a lock resolved before): the running executable's device, inode, size and mtime.
// Any rebuild or reinstall changes it; nothing reads the 50 MB binary to find out.
#if canImport(Glibc)
    import Glibc
#endif

public enum ExecutableIdentity {
    /// `dev:ino:size:mtime` of `/proc/self/exe`, or a random value when it cannot be read (so
    /// that a cache keyed by it is simply never hit).
    public static let current: String = {
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return "unknown-\(UInt64.random(in: 0...UInt64.max))" }
        return "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }()
}
