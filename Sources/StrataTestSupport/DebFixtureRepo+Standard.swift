// The canonical Debian fixture: one archive, suites `stable` (main, contrib) and
// `stable-updates` (main), amd64, signed with TestGPGKey.archive(). Each package below exists to
// exercise one rule of apt's resolver or of the index formats; tests that share the archive
// should check the rule the package was made for.
import Foundation

extension DebFixtureRepo {
    /// The suites of ``standard()``.
    public static let standardSuites = [
        DebSuite(name: "stable", codename: "strata", components: ["main", "contrib"]),
        DebSuite(name: "stable-updates", codename: "strata-updates", components: ["main"]),
    ]

    /// The packages of ``standard()``; what each one is for is written beside it.
    public static let standardPackages: [DebPackageSpec] = [
        // Essential + required, with a conffile and a postinst: the base of any minimal set
        // (`?essential`, `?priority(required)`).
        DebPackageSpec(
            name: "base-files", version: "13.1", essential: true, priority: "required", section: "admin",
            files: ["/etc/strata_version": "13.1\n", "/usr/share/doc/base-files/README": "fixture\n"],
            conffiles: ["/etc/strata_version"],
            maintainerScripts: ["postinst": "#!/bin/sh\nset -e\necho base-files configured\n"]),
        // A Multi-Arch: same library in two versions; the newer one is only in stable-updates, so
        // with both suites enabled apt must pick 2.36-9+deb12u1.
        DebPackageSpec(
            name: "libc-mini", version: "2.36-9", multiArch: "same", priority: "required", section: "libs",
            files: ["/usr/lib/x86_64-linux-gnu/libc-mini.so.6": "libc-mini 2.36-9\n"]),
        DebPackageSpec(
            name: "libc-mini", version: "2.36-9+deb12u1", multiArch: "same", priority: "required",
            section: "libs", files: ["/usr/lib/x86_64-linux-gnu/libc-mini.so.6": "libc-mini 2.36-9+deb12u1\n"],
            suites: ["stable-updates"]),
        // Essential, Pre-Depends on the library with a version (it must be unpacked and
        // configured first).
        DebPackageSpec(
            name: "shell-mini", version: "5.2.15-2", preDepends: "libc-mini (>= 2.36)", essential: true,
            priority: "required", section: "shells", files: ["/bin/shell-mini": "#!/bin/sh\nexec /bin/sh \"$@\"\n"]),
        // Essential with a plain Depends; third member of `?essential`.
        DebPackageSpec(
            name: "coreutils-mini", version: "9.1-1", depends: "libc-mini (>= 2.36)", essential: true,
            priority: "required", section: "utils", files: ["/usr/bin/true-mini": "#!/bin/sh\nexit 0\n"]),
        // Multi-Arch: allowed, so that `perl-mini:any` can be satisfied by it.
        DebPackageSpec(
            name: "perl-mini", version: "5.36.0-7", depends: "libc-mini", multiArch: "allowed",
            priority: "important", section: "perl", files: ["/usr/bin/perl-mini": "#!/bin/sh\n"]),
        // Architecture: all, depends on `perl-mini:any` (the `:any` qualifier).
        DebPackageSpec(
            name: "script-tool", version: "1.4-1", architecture: "all", depends: "perl-mini:any",
            files: ["/usr/bin/script-tool": "#!/usr/bin/perl-mini\n"]),
        // Architecture: all + Multi-Arch: foreign, Priority: important; recommended by `app`
        // (apt must not install it while Install-Recommends is off).
        DebPackageSpec(
            name: "tzdata-mini", version: "2024a-0+deb12u1", architecture: "all", multiArch: "foreign",
            priority: "important", section: "localization",
            files: ["/usr/share/zoneinfo/UTC": "TZif-fixture\n"]),
        // Two editors; `app` depends on `editor-vim (>= 9.0) | editor-nano`: apt takes the first
        // alternative. editor-vim has an epoch (file name without it).
        DebPackageSpec(
            name: "editor-vim", version: "2:9.0.1378-2", depends: "libc-mini", provides: "editor",
            section: "editors", files: ["/usr/bin/vim-mini": "#!/bin/sh\n"]),
        DebPackageSpec(
            name: "editor-nano", version: "7.2-1", depends: "libc-mini", provides: "editor", section: "editors",
            files: ["/usr/bin/nano-mini": "#!/bin/sh\n"]),
        DebPackageSpec(
            name: "app", version: "1.0-1", depends: "editor-vim (>= 9.0) | editor-nano, libc-mini (>= 2.36)",
            recommends: "tzdata-mini", files: ["/usr/bin/app": "#!/bin/sh\n"]),
        // The virtual package `mail-transport-agent` has two providers (both also provide a
        // versioned `smtp-api`) and a real package of the same name in contrib. The providers
        // conflict with and replace the virtual name, as Debian's MTAs do.
        DebPackageSpec(
            name: "mta-postfix", version: "3.7.11-0+deb12u1",
            provides: "mail-transport-agent, smtp-api (= 3.0)", conflicts: "mail-transport-agent",
            replaces: "mail-transport-agent", section: "mail", files: ["/usr/sbin/postfix-mini": "#!/bin/sh\n"]),
        DebPackageSpec(
            name: "mta-exim", version: "4.96-15", provides: "mail-transport-agent, smtp-api (= 2.0)",
            conflicts: "mail-transport-agent", replaces: "mail-transport-agent", section: "mail",
            files: ["/usr/sbin/exim-mini": "#!/bin/sh\n"]),
        DebPackageSpec(
            name: "mail-transport-agent", version: "1.0", architecture: "all", section: "contrib/mail",
            summary: "a real package named like the virtual one", component: "contrib"),
        // Depends on the unversioned name: apt prefers the real package over the providers.
        DebPackageSpec(name: "mail-user", version: "1.0-1", depends: "mail-transport-agent", section: "mail"),
        // Versioned dependency on a versioned Provides: only mta-postfix (smtp-api 3.0) fits.
        DebPackageSpec(name: "mailer-app", version: "2.1-1", depends: "smtp-api (>= 3.0)", section: "mail"),
        // `monitor` depends on `logger-a | logger-b`; logger-a Breaks every libc-mini older than
        // 2.37, which any installation has, so a solver must avoid it and take logger-b.
        // logger-b Conflicts with logger-a (they ship the same file) and Replaces it.
        DebPackageSpec(
            name: "logger-a", version: "1.0-1", depends: "libc-mini", breaks: "libc-mini (<< 2.37)",
            section: "admin", files: ["/usr/sbin/logger-mini": "a\n"]),
        DebPackageSpec(
            name: "logger-b", version: "1.0-1", depends: "libc-mini", conflicts: "logger-a", replaces: "logger-a",
            section: "admin", files: ["/usr/sbin/logger-mini": "b\n"]),
        DebPackageSpec(name: "monitor", version: "0.9-1", depends: "logger-a | logger-b, libc-mini", section: "admin"),
    ]

    private static let sharedStandard = Task {
        try await build(packages: standardPackages, suites: standardSuites, key: TestGPGKey.archive())
    }

    /// The standard archive, built once per test process and shared; do not modify it (build
    /// your own with ``build(packages:suites:key:origin:date:at:)`` instead).
    /// - Throws: ``StrataError`` `.toolFailed` when a tool fails.
    public static func standard() async throws -> DebFixtureRepo { try await sharedStandard.value }
}
