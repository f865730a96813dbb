// The canonical rpm fixture: a handful of packages for repodata parsing and rpm-semantics
// resolution, signed (repomd.xml.asc) with TestGPGKey.archive().
import Foundation

extension RpmFixtureRepo {
    /// The packages of ``standard()``; what each one is for is written beside it.
    public static let standardPackages: [RpmPackageSpec] = [
        // A noarch base every other package needs, with a file.
        RpmPackageSpec(
            name: "filesystem-mini", version: "3.18", release: "3.fc39",
            files: ["/etc/strata-release": "strata fixture\n"]),
        // A library in two versions (the version pair); foo-tools needs the newer one.
        RpmPackageSpec(
            name: "libfoo", version: "1.0", release: "1.fc39", architecture: "x86_64",
            requires: ["filesystem-mini"], provides: ["foo-abi = 1"],
            files: ["/usr/lib64/libfoo.so.1": "libfoo 1.0\n"]),
        RpmPackageSpec(
            name: "libfoo", version: "1.1", release: "1.fc39", architecture: "x86_64",
            requires: ["filesystem-mini"], provides: ["foo-abi = 1"],
            files: ["/usr/lib64/libfoo.so.1": "libfoo 1.1\n"]),
        // A versioned Requires: only libfoo 1.1 satisfies it.
        RpmPackageSpec(
            name: "foo-tools", version: "2.0", release: "1.fc39", architecture: "x86_64",
            requires: ["libfoo >= 1.1", "filesystem-mini"], files: ["/usr/bin/foo": "#!/bin/sh\n"]),
        // Two providers of the virtual `MTA` that conflict with each other.
        RpmPackageSpec(
            name: "smtpd-alpha", version: "1.2", release: "1.fc39", provides: ["MTA", "smtpdaemon"],
            conflicts: ["smtpd-beta"], files: ["/usr/sbin/smtpd-alpha": "#!/bin/sh\n"]),
        RpmPackageSpec(
            name: "smtpd-beta", version: "4.0", release: "2.fc39", provides: ["MTA", "smtpdaemon"],
            conflicts: ["smtpd-alpha"], files: ["/usr/sbin/smtpd-beta": "#!/bin/sh\n"]),
        // Requires only the virtual name.
        RpmPackageSpec(name: "mailx-mini", version: "12.5", release: "5.fc39", requires: ["MTA"]),
    ]

    private static let sharedStandard = Task {
        try await build(packages: standardPackages, key: TestGPGKey.archive())
    }

    /// The standard repository, built once per test process and shared; do not modify it.
    /// - Throws: ``StrataError`` `.toolFailed` when a tool fails.
    public static func standard() async throws -> RpmFixtureRepo { try await sharedStandard.value }
}
