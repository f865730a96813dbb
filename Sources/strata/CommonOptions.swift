import ArgumentParser
import Foundation
import Logging
import StrataBuild
import StrataCore
import StrataDeb
import StrataFetch
import StrataPackaging
import StrataRPM
import StrataStore
import StrataTemplate

/// What selects a template: shared by every command that reads the template tree.
struct TemplateOptions: ParsableArguments {
    @Argument(help: "The target: DISTRO/VERSION or DISTRO/VERSION/ARCH (debian/12).")
    var target: String

    @Option(name: .long, help: "The package set (a NAME.list in the template tree): essential, minbase, standard, …")
    var set: String = "minbase"

    @Option(name: .long, help: "The architecture (Debian or RPM name); default: the target's, else the host's.")
    var arch: String?

    @Option(name: .long, help: "The template tree; default: $STRATA_TEMPLATES, else the one shipped with strata.")
    var templates: String?

    @Option(
        name: .long,
        help: "Packages to add for this once (PKG,PKG or repeated), as mmdebstrap's --include; the set is then named SET+PKG+… (its own lockfile, output and ref).")
    var include: [String] = []

    func load() throws -> TemplateSpec {
        let tree = TemplateTree(root: try TemplateTree.existingRoot(explicit: templates))
        return try tree.load(target: target, set: set, architecture: arch.map(Architecture.parse)).including(include)
    }
}

/// Where strata keeps its data and how it reaches repositories.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory; default: $STRATA_HOME, else /var/lib/strata (root) or ~/.cache/strata.")
    var store: String?

    @Option(name: .long, help: "Mirror for a role: URL (the 'debian' role) or ROLE=URL. Default: the host's apt sources.")
    var mirror: [String] = []

    @Option(name: .long, help: "A caching proxy for every download (http://HOST:PORT): `strata proxy` or apt-cacher-ng (asked as http://HOST:PORT/MIRROR-HOST/PATH).")
    var proxy: String?

    @Option(name: .long, help: "A `strata proxy` cache directory on this host: packages found there are not downloaded.")
    var proxyCache: String?

    var storeRoot: String {
        if let store { return store }
        if let home = ProcessInfo.processInfo.environment["STRATA_HOME"], !home.isEmpty { return home }
        if getuid() == 0 { return "/var/lib/strata" }
        let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? "\(NSHomeDirectory())/.cache"
        return "\(cache)/strata"
    }

    /// The store for a command that reads it (`list`, `show`, `fsck`) or only removes from it
    /// (`gc`): never created, so a mistyped `--store` is an error rather than a new empty store.
    func existingStore() throws -> Store {
        do {
            return try Store(existing: storeRoot)
        } catch let error as StrataError where error.code == .notFound {
            throw StrataError(
                .notFound, "no store at \(storeRoot) (nothing has been built there; --store or $STRATA_HOME names it)")
        }
    }

    func planner() throws -> Planner {
        let store = try BlobStore(root: storeRoot)
        var shared: BlobStore?
        if let proxyCache {
            guard FileManager.default.fileExists(atPath: "\(proxyCache)/blobs/sha256") else {
                throw StrataError(.notFound, "--proxy-cache \(proxyCache): no blobs/sha256 there (not a strata proxy cache)")
            }
            shared = try BlobStore(root: proxyCache)
        }
        return Planner(
            fetcher: try HTTPFetcher(store: store, proxy: proxy, sharedBlobs: shared),
            mirrors: try MirrorMap.host(packagers: .shipped, overrides: mirror), packagers: .shipped)
    }
}

extension Packagers {
    /// The package formats this executable builds: the one place that names the packagers.
    static let shipped = Packagers([DebPackager(), RpmPackager()])
}

/// Routes swift-log through ``Diagnostics`` for the whole process; bootstrapped once.
private enum LoggingSetup {
    static let once: Void = LoggingSystem.bootstrap(DiagnosticsLogHandler.init)
}

/// Runs a command body: sets how warnings are shown, prints a ``StrataError`` (or any other error,
/// put in words by ``StrataError/init(describing:what:)``) as one `strata: error: …` line and
/// exits non-zero.
/// - Parameters:
///   - quiet: the command's `-q`: warnings and notes are not printed (errors are).
///   - failure: the exit status for an error (`lock --check` says 2: it could not check).
func reportingErrors(quiet: Bool = false, failure: Int32? = nil, _ body: () async throws -> Void) async throws {
    _ = LoggingSetup.once
    Diagnostics.settings = Diagnostics.Settings(quiet: quiet, showsNotes: !quiet)
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        // An error that an interruption caused (a tree unmounted under a reader) is not the
        // command's: the clean-up thread prints `interrupted` and ends the process.
        Interruption.parkIfInterrupted()
        let described = StrataError(describing: error)
        Diagnostics.emit(.error, described.description)
        throw ExitCode(failure ?? (described.code == .unsatisfiable ? 3 : 1))
    }
}

/// Which SBOMs an output gets beside it (docs/sbom.md).
struct SBOMOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The SBOMs written beside the output, and the SPDX one into an OCI output: spdx, cyclonedx, both (spdx,cyclonedx) or none.")
    var sbom: String = "spdx"

    var formats: [SBOMFormat] {
        get throws {
            switch sbom {
            case "none": return []
            case "both": return [.spdx, .cyclonedx]
            default:
                return try sbom.split(separator: ",").map { name in
                    guard let format = SBOMFormat(rawValue: String(name)) else {
                        throw ValidationError("--sbom must be spdx, cyclonedx, both, a list of them or none, not '\(sbom)'")
                    }
                    return format
                }
            }
        }
    }

    func validate() throws { _ = try formats }
}
