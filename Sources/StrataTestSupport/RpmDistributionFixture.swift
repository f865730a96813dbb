// What the tiny EL-like distribution (RpmFixtureRepo+Distribution.swift) is for: the request a
// minimal install is, and the facts an installed tree must show, whoever installed it (dnf as
// the reference, strata under test). Paths are relative to the tree's root, as in TreeListing.
import Foundation

/// The tiny distribution's repository and the facts an install of it should show.
public struct RpmDistributionFixture: Sendable {
    /// The repository.
    public let repository: RpmFixtureRepo

    /// Creates the value for a built repository.
    public init(repository: RpmFixtureRepo) { self.repository = repository }

    /// What a minimal install asks for, as a template's package list would.
    public static let minimalRequest = ["filesystem", "busybox", "rpm", "fixture-app"]

    /// The names a minimal install ends up with: the request, its requirements, the weak
    /// dependency and the preferred `mta` provider.
    public static let minimalInstallNames = [
        "busybox", "filesystem", "fixture-app", "fixture-extras", "fixture-lib", "fixture-plugin-hello",
        "fixture-plugin-host", "postfix-mini", "rpm",
    ]

    /// The packages a minimal install must *not* contain: the other `mta` provider.
    public static let notInstalledNames = ["esmtp-mini"]

    /// The minimal install as sorted `name-epoch:version-release.arch` (what ``DnfOracle`` reports),
    /// with the newest version of each name.
    public var minimalInstall: [String] {
        Self.minimalInstallNames.compactMap { name in
            repository.packages.map(\.spec).filter { $0.name == name }
                .max { Self.versionLess($0.version, $1.version) }?.nevra
        }.sorted()
    }

    /// The user fixture-app's `%pre` creates; its uid comes from the tree's own /etc/passwd.
    public static let serviceUser = "svc"
    /// Paths owned by ``serviceUser`` (`%attr(…,svc,svc)`), with their modes.
    public static let serviceOwned: [String: UInt32] = [
        "etc/fixture-app/app.conf": 0o640, "var/lib/fixture-app": 0o750,
    ]

    /// The file with `%caps(cap_net_raw=ep)`.
    public static let capabilityPath = "usr/bin/fixture-ping"
    /// Its `security.capability` xattr in hex: VFS_CAP_REVISION_2 | effective, permitted
    /// bit 13 (CAP_NET_RAW), nothing inheritable.
    public static let capabilityHex = "0100000200200000000000000000000000000000"

    /// Two names of one inode (the second made with `ln` in %install).
    public static let hardlinkPair = ("usr/bin/fixture-app", "usr/bin/fixture-app-compat")
    /// A symlink and its target.
    public static let symlink = (path: "usr/bin/fapp", target: "fixture-app")

    /// `%config(noreplace)` files.
    public static let configNoReplacePaths = ["etc/passwd", "etc/group", "etc/fixture-app/app.conf"]
    /// A `%ghost` file: owned by fixture-app, never created by rpm.
    public static let ghostPath = "var/log/fixture-app.log"
    /// A `%doc` file (present unless docs are excluded).
    public static let docPath = "usr/share/doc/fixture-app/README"

    /// Written by fixture-app's shell `%post` with `$1`.
    public static let postMarker = "var/lib/fixture/fixture-app.post"
    /// Written by fixture-app's `%posttrans` with `$1`.
    public static let posttransMarker = "var/lib/fixture/fixture-app.posttrans"
    /// Written by fixture-lib's Lua `%post` with its version and `arg[2]`.
    public static let luaMarker = "var/lib/fixture/fixture-lib.lua-post"
    /// What the markers hold after a first install (`$1` = 1) with fixture-lib 2.1.
    public static let markerContents = [
        postMarker: "fixture-app post 1\n", posttransMarker: "fixture-app posttrans 1\n",
        luaMarker: "fixture-lib 2.1 lua post 1\n",
    ]

    /// The plugin file, under the prefix fixture-plugin-host's file triggers watch (absolute).
    public static let pluginPath = "/usr/lib/fixture-plugins/hello.plugin"
    /// Where `%filetriggerin -- /usr/lib/fixture-plugins` appends the paths it received. rpm also
    /// hands it the directory itself, which fixture-plugin-host owns, so it holds both lines.
    public static let fileTriggerOutput = "var/lib/fixture/plugins.filetriggerin"
    /// Where `%transfiletriggerin` appends the paths it received.
    public static let transFileTriggerOutput = "var/lib/fixture/plugins.transfiletriggerin"

    /// The weak dependency (`Recommends:`) of fixture-app that dnf installs by default.
    public static let weakDependency = "fixture-extras"
    /// The providers of `mta`: the one dnf takes (fixture-app `Suggests:` it) and the other.
    public static let mtaProviders = (preferred: "postfix-mini", other: "esmtp-mini")
    /// The package built in two versions, and the newest, which dnf installs.
    public static let versionedPackage = (name: "fixture-lib", versions: ["1.0", "2.1"], newest: "2.1")

    /// Numeric dotted versions compared part by part (enough for the fixture's own versions).
    static func versionLess(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }
        let y = b.split(separator: ".").map { Int($0) ?? 0 }
        return x.lexicographicallyPrecedes(y)
    }
}
