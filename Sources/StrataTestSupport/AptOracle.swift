// apt-get as a reference resolver: what would apt install for this request against these
// repositories? Results from strata's solver are checked against it.
//
// Isolation from the host: every apt run gets APT_CONFIG pointing at a generated apt.conf. apt
// reads APT_CONFIG before anything else and then the `Dir::Etc::parts` directory it names, so
// the host's /etc/apt/apt.conf.d is never read; the file points every directory apt touches
// (state, lists, cache, sources, trusted keys, preferences, logs) into the oracle's temporary
// root. The dpkg status file is empty (the request is resolved as for an empty root, as
// debootstrap and mmdebstrap see it) unless a test sets one (a layer's base). Lock files are not taken (Debug::NoLocking).
import Foundation
import StrataCore

/// A throwaway apt configuration that resolves install requests with the host's apt-get.
public struct AptOracle: Sendable {
    /// The temporary root holding the configuration, lists and caches.
    public let root: String
    /// `APT::Architecture`.
    public let architecture: String
    /// `APT::Architectures`: the native one first, then the foreign ones.
    public let architectures: [String]
    /// The sources.list lines.
    public let sources: [String]

    /// The generated apt.conf (what `APT_CONFIG` names).
    public var configPath: String { "\(root)/etc/apt.conf.strata" }
    /// The lists directory (`Dir::State::Lists`).
    public var listsDirectory: String { "\(root)/state/lists" }

    /// Creates the configuration; nothing is downloaded until ``update()``.
    ///
    /// - Parameters:
    ///   - sources: one-line sources (`deb [signed-by=/path/key.gpg] http://127.0.0.1:PORT/ stable main`).
    ///   - architecture: the native architecture.
    ///   - foreignArchitectures: further architectures (multiarch).
    /// - Throws: ``StrataError`` `.io` when the directory cannot be made.
    /// Settings added after the defaults (a later setting wins in apt), e.g. `Acquire::http::Proxy`.
    public let extraSettings: [(String, String)]

    public init(
        sources: [String], architecture: String = "amd64", foreignArchitectures: [String] = [],
        extraSettings: [(String, String)] = []
    ) throws {
        self.extraSettings = extraSettings
        root = try TemporaryDirectory.make(prefix: "apt")
        self.architecture = architecture
        architectures = [architecture] + foreignArchitectures.filter { $0 != architecture }
        self.sources = sources
        let fm = FileManager.default
        for dir in [
            "etc/apt.conf.d", "etc/sources.list.d", "etc/trusted.gpg.d", "etc/preferences.d",
            "state/lists/partial", "cache/archives/partial", "log",
        ] {
            try fm.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        try Data().write(to: URL(fileURLWithPath: "\(root)/state/status"))
        try Data((sources.joined(separator: "\n") + "\n").utf8)
            .write(to: URL(fileURLWithPath: "\(root)/etc/sources.list"))
        try Data(configText.utf8).write(to: URL(fileURLWithPath: configPath))
    }

    /// The settings, one `Name "value";` per line.
    var configText: String {
        let settings: [(String, String)] = [
            ("Dir", "\(root)/"),
            ("Dir::State", "\(root)/state/"),
            ("Dir::State::status", "\(root)/state/status"),
            ("Dir::State::Lists", "\(root)/state/lists/"),
            ("Dir::State::extended_states", "\(root)/state/extended_states"),
            ("Dir::Cache", "\(root)/cache/"),
            ("Dir::Cache::archives", "\(root)/cache/archives/"),
            ("Dir::Etc", "\(root)/etc/"),
            ("Dir::Etc::main", "\(root)/etc/apt.conf"),
            ("Dir::Etc::parts", "\(root)/etc/apt.conf.d/"),
            ("Dir::Etc::sourcelist", "\(root)/etc/sources.list"),
            ("Dir::Etc::sourceparts", "\(root)/etc/sources.list.d/"),
            ("Dir::Etc::trusted", "\(root)/etc/trusted.gpg"),
            ("Dir::Etc::trustedparts", "\(root)/etc/trusted.gpg.d/"),
            ("Dir::Etc::preferences", "\(root)/etc/preferences"),
            ("Dir::Etc::preferencesparts", "\(root)/etc/preferences.d/"),
            ("Dir::Log", "\(root)/log/"),
            ("APT::Architecture", architecture),
            ("Debug::NoLocking", "1"),
            ("APT::Install-Recommends", "false"),
            ("APT::Install-Suggests", "false"),
            ("APT::Sandbox::User", "root"),
            ("APT::Get::List-Cleanup", "false"),
            ("Acquire::Languages", "none"),
            ("Acquire::http::Proxy", "DIRECT"),
            ("Acquire::Retries", "0"),
            ("Acquire::http::Timeout", "20"),
        ]
        var lines = (settings + extraSettings).map { "\($0.0) \"\($0.1)\";" }
        lines.append("APT::Architectures { " + architectures.map { "\"\($0)\"; " }.joined() + "};")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Makes `status` (dpkg status stanzas) what apt sees installed: `resolve` then says what
    /// apt would install on top of it, as on a system with those packages (a layer's base).
    public func setInstalled(status: String) throws {
        try Data(status.utf8).write(to: URL(fileURLWithPath: "\(root)/state/status"))
    }

    /// Runs `apt-get update`.
    /// - Throws: ``StrataError`` `.verificationFailed` when a Release signature does not verify
    ///   (unsigned, unknown key, bad signature), `.network` when an index cannot be fetched,
    ///   `.toolFailed` otherwise. Warnings count as errors (`--error-on=any`).
    public func update() async throws {
        let result = try await apt("apt-get", ["--error-on=any", "update"], check: false)
        guard result.exitCode != 0 else { return }
        let text = result.output + result.errorOutput
        let signatureWords = ["NO_PUBKEY", "is not signed", "signatures couldn't be verified", "BADSIG", "Signed-By"]
        let code: StrataError.Code =
            signatureWords.contains(where: text.contains)
            ? .verificationFailed
            : text.contains("Failed to fetch") ? .network : .toolFailed
        throw StrataError(code, "apt-get update failed (exit \(result.exitCode)):\n\(text)")
    }

    /// Asks apt what it would install, from an empty system, for `packages`.
    ///
    /// - Parameters:
    ///   - packages: package names, optionally `name=version`, `name/suite` or `name:arch`.
    ///   - patterns: raw apt patterns passed through as arguments (`?essential`, `?priority(required)`).
    /// - Returns: the resolved set, package name (without `:arch`) → version.
    /// - Throws: ``StrataError`` `.unsatisfiable` when apt finds no solution (its explanation in
    ///   the message), `.toolFailed` for other failures.
    public func resolve(_ packages: [String], patterns: [String] = []) async throws -> [String: String] {
        Self.parseInstLines(try await simulate(packages + patterns))
    }

    /// Runs `apt-get install --simulate -y` with `arguments` and returns its standard output.
    /// - Throws: as ``resolve(_:patterns:)``.
    public func simulate(_ arguments: [String]) async throws -> String {
        let result = try await apt("apt-get", ["install", "--simulate", "-y", "-q"] + arguments, check: false)
        guard result.exitCode == 0 else {
            let text = result.output + result.errorOutput
            let unsatisfiable =
                text.contains("unmet dependencies") || text.contains("Unable to locate package")
                || text.contains("has no installation candidate") || text.contains("Unable to correct problems")
            throw StrataError(
                unsatisfiable ? .unsatisfiable : .toolFailed,
                "apt-get install --simulate \(arguments.joined(separator: " ")) failed:\n\(text)")
        }
        return result.output
    }

    /// Runs any apt tool (`apt-get`, `apt-cache`, `apt-config`) with this configuration.
    /// - Throws: ``StrataError`` `.toolFailed` on a non-zero exit when `check` is set.
    @discardableResult
    public func apt(_ tool: String, _ arguments: [String], check: Bool = true) async throws -> ShellResult {
        try await Shell.run(
            tool, arguments,
            environment: ["APT_CONFIG": configPath, "LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"],
            unsetting: ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"],
            directory: root, timeout: .seconds(90), check: check)
    }

    /// The effective configuration as `apt-config dump` reports it, lowercased name → value
    /// (apt compares names case-insensitively; list items keep the last value).
    /// - Throws: ``StrataError`` `.toolFailed` when apt-config fails.
    public func effectiveConfiguration() async throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try await apt("apt-config", ["dump"]).output.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            var value = line[line.index(after: space)...]
            if value.hasSuffix(";") { value = value.dropLast() }
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            values[line[..<space].lowercased()] = String(value)
        }
        return values
    }

    /// Parses `Inst NAME[:ARCH] [OLD] (VERSION ORIGIN [ARCH])` lines of a simulation.
    /// - Returns: name (without `:arch`) → version.
    public static func parseInstLines(_ output: String) -> [String: String] {
        var resolved: [String: String] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("Inst ") {
            let words = line.split(separator: " ")
            guard words.count >= 3 else { continue }
            let name = words[1].split(separator: ":").first.map(String.init) ?? String(words[1])
            guard let open = words.dropFirst(2).first(where: { $0.hasPrefix("(") }) else { continue }
            resolved[name] = String(open.dropFirst())
        }
        return resolved
    }
}
