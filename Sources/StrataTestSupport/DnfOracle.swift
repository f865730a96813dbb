// dnf as the reference installer: `dnf --installroot` installs a request from one rpm-md
// repository into a fresh root, for real (scriptlets run chrooted, owners from the tree's own
// passwd, file capabilities), and the tree it leaves is what strata's RPM installs are compared
// with (TreeListing.diff).
//
// Isolation from the host: no repository files (reposdir=/dev/null) and no plugins; dnf's cache
// and history (cachedir, persistdir) go to the oracle's temporary directory; HOME points there
// too, with a ~/.rpmmacros setting %_dbpath to /var/lib/rpm, because Debian's rpm defaults it to
// ~/.rpmdb (the database would land in ROOT/root/.rpmdb) and dnf has no option for it; rpm reads
// ~/.rpmmacros of the invoking user. Weak dependencies are on and docs kept, dnf's defaults.
//
// What dnf leaves in the root besides the packages (see leftoverPatterns): its logs
// (var/log/dnf.log, dnf.librepo.log, dnf.rpm.log, hawkey.log), etc/dnf/modules.d, the rpm
// database's journal and lock files, and, because dnf 4.14 prefixes the installroot to the
// cachedir for this one file only, <cachedir>/expired_repos.json below the root.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Installs requests with the host's dnf from one repository.
public struct DnfOracle: Sendable {
    /// The repository's base URL (`http://127.0.0.1:PORT/`).
    public let repositoryURL: String
    /// When set, dnf checks `repomd.xml.asc` against it (`repo_gpgcheck=1`).
    public let repositoryKey: TestGPGKey?
    /// `install_weak_deps`: whether Recommends are installed (dnf's default: yes).
    public let installWeakDependencies: Bool
    /// `tsflags` (`nodocs`, `noscripts`); none by default.
    public let transactionFlags: [String]
    /// The temporary directory holding HOME, the cache and dnf's history.
    public let workDirectory: String

    /// Where the rpm database is in the installed tree (and what `%_dbpath` is set to).
    public static let databasePath = "/var/lib/rpm"

    /// The repository id dnf knows it by.
    public static let repositoryID = "fx"

    /// What a dnf install leaves in any root besides the packages' files and their scriptlets'
    /// output, as patterns for ``TreeListing/diff(against:allowlist:compareModificationTimes:)``.
    /// The database files are here too: two installs never write them byte for byte alike.
    public static let leftoverPatterns = [
        "etc/dnf", "etc/dnf/*",
        "var/log/dnf.log", "var/log/dnf.librepo.log", "var/log/dnf.rpm.log", "var/log/hawkey.log",
        "var/lib/dnf", "var/lib/dnf/*", "var/cache/dnf", "var/cache/dnf/*",
        "var/lib/rpm/*",
    ]

    /// Creates the oracle; nothing runs until ``install(_:into:)``.
    ///
    /// - Parameters:
    ///   - repositoryURL: the repository's base URL.
    ///   - repositoryKey: the key to check repomd.xml's signature with, or `nil` for no check.
    ///   - installWeakDependencies: `install_weak_deps`.
    ///   - transactionFlags: `tsflags`.
    /// - Throws: ``StrataError`` `.io` when the temporary directory cannot be made.
    public init(
        repositoryURL: String, repositoryKey: TestGPGKey? = nil, installWeakDependencies: Bool = true,
        transactionFlags: [String] = []
    ) throws {
        self.repositoryURL = repositoryURL
        self.repositoryKey = repositoryKey
        self.installWeakDependencies = installWeakDependencies
        self.transactionFlags = transactionFlags
        workDirectory = try TemporaryDirectory.make(prefix: "dnf")
        let fm = FileManager.default
        for directory in ["home", "cache", "persist"] {
            try fm.createDirectory(atPath: "\(workDirectory)/\(directory)", withIntermediateDirectories: true)
        }
        try Data("%_dbpath \(Self.databasePath)\n".utf8)
            .write(to: URL(fileURLWithPath: "\(workDirectory)/home/.rpmmacros"))
    }

    /// A finished install.
    public struct Installation: Sendable {
        /// The root dnf installed into.
        public let root: String
        /// What the tree's rpm database lists, as sorted `name-epoch:version-release.arch`.
        public let packages: [String]
        /// What dnf said it installed ("Installed:"), in the same form, sorted.
        public let transaction: [String]
        /// dnf's standard output.
        public let output: String
        /// ``DnfOracle/leftoverPatterns`` plus this install's misplaced cache directory.
        public let leftovers: [String]

        /// The installed tree's listing.
        /// - Throws: as ``TreeListing/read(root:)``.
        public func listing() throws -> TreeListing { try TreeListing.read(root: root) }

        /// Runs `tool` inside the tree with `chroot` (the tree's own binaries; needs root).
        /// - Throws: ``StrataError`` `.toolFailed` on a non-zero exit when `check` is set.
        @discardableResult
        public func runInTree(_ tool: String, _ arguments: [String], check: Bool = true) async throws -> ShellResult {
            try await Shell.run(
                "chroot", [root, tool] + arguments, environment: ["LC_ALL": "C", "PATH": "/usr/bin:/usr/sbin"],
                timeout: .seconds(60), check: check)
        }
    }

    /// The command line after `dnf`, for a root and a request.
    func arguments(root: String, request: [String]) -> [String] {
        let id = Self.repositoryID
        var arguments = [
            "-y", "--noplugins", "--installroot=\(root)", "--releasever=1",
            "--setopt=reposdir=/dev/null", "--setopt=skip_if_unavailable=False",
            "--setopt=cachedir=\(workDirectory)/cache", "--setopt=persistdir=\(workDirectory)/persist",
            "--setopt=keepcache=False", "--setopt=install_weak_deps=\(installWeakDependencies ? "True" : "False")",
            "--repofrompath=\(id),\(repositoryURL)", "--setopt=\(id).gpgcheck=0",
        ]
        if let repositoryKey {
            arguments += [
                "--setopt=\(id).repo_gpgcheck=1", "--setopt=\(id).gpgkey=file://\(repositoryKey.armoredPublicKeyPath)",
            ]
        } else {
            arguments.append("--setopt=\(id).repo_gpgcheck=0")
        }
        if !transactionFlags.isEmpty { arguments.append("--setopt=tsflags=\(transactionFlags.joined(separator: ","))") }
        return arguments + ["install"] + request
    }

    /// Installs `request` into `root`.
    ///
    /// - Parameters:
    ///   - request: package names, provides or NEVRAs, as `dnf install` takes them.
    ///   - root: an empty or missing directory (made 0755, a system root's mode); a new temporary one when `nil`.
    /// - Returns: the installation.
    /// - Throws: ``StrataError`` `.verificationFailed` when repomd.xml's signature does not verify,
    ///   `.unsatisfiable` when dnf finds no solution or no such package, `.network` when the
    ///   metadata cannot be fetched, `.toolFailed` for any other failure.
    public func install(_ request: [String], into root: String? = nil) async throws -> Installation {
        let root = try root ?? TemporaryDirectory.make(prefix: "dnfroot")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // 0755 as a system's root is (mkdtemp makes 0700), since no package here owns "/".
        guard chmod(root, 0o755) == 0 else {
            throw StrataError(.io, "cannot chmod \(root): \(StrataError.reason(errno: errno))")
        }
        let result: ShellResult
        do {
            result = try await Shell.run(
                "dnf", arguments(root: root, request: request),
                environment: ["HOME": "\(workDirectory)/home", "LC_ALL": "C.UTF-8"],
                unsetting: ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"],
                directory: workDirectory, timeout: .seconds(180), check: false)
        } catch {
            await stopKeyAgents()
            throw error
        }
        await stopKeyAgents()
        guard result.exitCode == 0 else {
            let text = result.output + result.errorOutput
            let code = Self.errorCode(for: text)
            throw StrataError(
                code, "dnf install \(request.joined(separator: " ")) failed (exit \(result.exitCode)):\n\(text)")
        }
        let relativeWork = String(workDirectory.drop(while: { $0 == "/" }))
        return Installation(
            root: root, packages: try await Self.installedPackages(root: root),
            transaction: Self.parseInstalled(result.output).sorted(), output: result.output,
            leftovers: Self.leftoverPatterns + [relativeWork, "\(relativeWork)/*"])
    }

    /// What a failed dnf run's output says went wrong.
    static func errorCode(for text: String) -> StrataError.Code {
        if text.contains("GPG signature verification error") { return .verificationFailed }
        if text.contains("Failed to download metadata") { return .network }
        let unsatisfiable = ["No match for argument", "Unable to find a match", "Problem: ", "nothing provides"]
        if unsatisfiable.contains(where: text.contains) { return .unsatisfiable }
        return .toolFailed
    }

    /// The packages the rpm database under `root` lists, read with the host's rpm.
    /// - Returns: sorted `name-epoch:version-release.arch`.
    /// - Throws: ``StrataError`` `.toolFailed` when rpm fails.
    public static func installedPackages(root: String) async throws -> [String] {
        let result = try await Shell.run(
            "rpm", ["--root", root, "--dbpath", databasePath, "-qa", "--qf", nevraFormat], timeout: .seconds(60))
        return result.output.split(separator: "\n").map(String.init).sorted()
    }

    /// The `--qf` format for `name-epoch:version-release.arch`, one a line.
    public static let nevraFormat = "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n"

    /// The NEVRAs of dnf's "Installed:" section, epoch made explicit (`foo-0:1.0-1.noarch`).
    static func parseInstalled(_ output: String) -> [String] {
        var inSection = false
        var nevras: [String] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "Installed:" {
                inSection = true
                continue
            }
            guard inSection else { continue }
            guard line.first == " " else {
                if !line.isEmpty || !nevras.isEmpty { inSection = false }
                continue
            }
            nevras += line.split(separator: " ").compactMap { withEpoch(String($0)) }
        }
        return nevras
    }

    /// `name-[epoch:]version-release.arch` with the epoch written out; `nil` when not that shape.
    static func withEpoch(_ nevra: String) -> String? {
        guard let dot = nevra.lastIndex(of: "."), let releaseDash = nevra[..<dot].lastIndex(of: "-"),
            let versionDash = nevra[..<releaseDash].lastIndex(of: "-")
        else { return nil }
        let name = nevra[..<versionDash]
        let evr = nevra[nevra.index(after: versionDash)..<releaseDash]
        let rest = nevra[releaseDash...]
        return evr.contains(":") ? nevra : "\(name)-0:\(evr)\(rest)"
    }

    /// Stops the gpg-agents librepo starts for repo_gpgcheck in `cache/<repo>-<hash>/pubring`.
    private func stopKeyAgents() async {
        guard repositoryKey != nil else { return }
        let cache = "\(workDirectory)/cache"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        for name in names where FileManager.default.fileExists(atPath: "\(cache)/\(name)/pubring") {
            _ = try? await Shell.run(
                "gpgconf", ["--homedir", "\(cache)/\(name)/pubring", "--kill", "all"], timeout: .seconds(20),
                check: false)
        }
    }
}
