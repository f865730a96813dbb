// What a build can check before it downloads anything: the output can be written, strata runs
// as root (it mounts an overlay and runs maintainer scripts in a chroot), and a foreign
// architecture's binaries can run here (a binfmt_misc handler, as qemu-user-static registers).
// Each failure says what is missing and how to get it.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

public enum Preflight {
    /// Everything below, in the order a user would fix them.
    /// - Throws: ``StrataError`` naming the first problem.
    public static func check(output: OutputTarget, architecture: Architecture, binfmt: String = "/proc/sys/fs/binfmt_misc")
        throws
    {
        try output.checkWritable()
        try requireRoot()
        try requireRunnable(architecture, binfmt: binfmt)
    }

    /// - Throws: ``StrataError`` `.invalidInput` unless the effective uid is 0.
    public static func requireRoot() throws {
        guard geteuid() == 0 else {
            throw StrataError(
                .invalidInput,
                "strata build needs root: it mounts an overlay, creates device nodes and runs the packages' "
                    + "maintainer scripts in a chroot (run it as root, for example with sudo)")
        }
    }

    /// The binfmt_misc handlers that run `architecture`'s programs, by the names qemu-user-static
    /// and binfmt-support register.
    static func handlerNames(_ architecture: Architecture) -> [String] {
        let qemu: String
        switch architecture.debian {
        case "arm64": qemu = "aarch64"
        case "armhf", "armel": qemu = "arm"
        case "i386": qemu = "i386"
        case "ppc64el": qemu = "ppc64le"
        case "amd64": qemu = "x86_64"
        default: qemu = architecture.debian
        }
        return ["qemu-\(qemu)", "qemu-\(qemu)-static"]
    }

    /// Architectures a host runs natively besides its own.
    static func native(on host: Architecture) -> Set<String> {
        switch host.debian {
        case "amd64": ["amd64", "i386"]
        case "arm64": ["arm64", "armhf", "armel"]
        default: [host.debian]
        }
    }

    /// - Throws: ``StrataError`` `.invalidInput` when `architecture` is foreign and no enabled
    ///   binfmt_misc handler runs its programs.
    public static func requireRunnable(_ architecture: Architecture, host: Architecture = .host, binfmt: String) throws {
        if native(on: host).contains(architecture.debian) { return }
        for name in handlerNames(architecture) {
            guard let text = try? String(contentsOfFile: "\(binfmt)/\(name)", encoding: .utf8) else { continue }
            if text.hasPrefix("enabled") { return }
        }
        throw StrataError(
            .invalidInput,
            "building for \(architecture) on this \(host) host runs \(architecture) programs (the maintainer scripts), "
                + "and no binfmt_misc handler for them is enabled in \(binfmt); install qemu-user-static and "
                + "binfmt-support (apt-get install qemu-user-static binfmt-support), or build on an \(architecture) host")
    }
}
