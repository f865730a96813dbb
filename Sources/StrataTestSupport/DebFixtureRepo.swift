// A Debian archive built at test time with Debian's own tools, laid out as Debian's own archive is:
//
//   pool/<component>/<x>/<name>/<name>_<version>_<arch>.deb      dpkg-deb --build --root-owner-group
//   dists/<suite>/<component>/binary-<arch>/Packages{,.gz,.xz}   apt-ftparchive packages, gzip -n, xz
//   dists/<suite>/<component>/binary-<arch>/by-hash/SHA256/<hex> apt-ftparchive (DoByHash)
//   dists/<suite>/Release                                        apt-ftparchive release
//   dists/<suite>/InRelease, Release.gpg                         gpg --clearsign, --detach-sign
//
// Release carries Origin, Label, Suite, Codename, Date, Architectures, Components,
// `Acquire-By-Hash: yes` and MD5Sum/SHA1/SHA256/SHA512 lists. apt-ftparchive writes the Date
// as `+0000`; it is rewritten to `UTC` as Debian's archive has it. `binary-<arch>` lists `Architecture: all` packages too,
// as Debian does; there is no `binary-all`, no Contents and no Translation files.
import Foundation
import StrataCore

/// One `dists/<name>` of a fixture archive.
public struct DebSuite: Sendable, Hashable {
    /// `Suite:` and the directory name (`stable`, `stable-updates`).
    public var name: String
    /// `Codename:`.
    public var codename: String
    /// `Architectures:`; one `binary-<arch>` directory each.
    public var architectures: [String]
    /// `Components:`.
    public var components: [String]

    /// Creates a suite description.
    public init(name: String, codename: String, architectures: [String] = ["amd64"], components: [String] = ["main"]) {
        self.name = name
        self.codename = codename
        self.architectures = architectures
        self.components = components
    }
}

/// A signed Debian archive on disk, made from ``DebPackageSpec``s.
public struct DebFixtureRepo: Sendable {
    /// A .deb as built and published.
    public struct BuiltPackage: Sendable, Hashable {
        /// What it was built from.
        public let spec: DebPackageSpec
        /// Its path relative to the archive root, as `Filename:` gives it.
        public let path: String
        /// The SHA-256 of the .deb file.
        public let sha256: SHA256Digest
        /// The .deb's size in bytes.
        public let size: Int
    }

    /// The archive root (the directory holding `dists/` and `pool/`).
    public let root: String
    /// The suites published.
    public let suites: [DebSuite]
    /// Every package built, in spec order.
    public let packages: [BuiltPackage]
    /// The key InRelease and Release.gpg are signed with, `nil` for an unsigned archive.
    public let key: TestGPGKey?

    /// Builds the archive.
    ///
    /// - Parameters:
    ///   - packages: the packages; each names its suites and component.
    ///   - suites: the suites to publish; a package naming an unknown suite is an error.
    ///   - key: signs `InRelease` and `Release.gpg`; with `nil` neither is written.
    ///   - origin: `Origin:` and `Label:`.
    ///   - date: `Date:` of every Release; now when `nil`.
    ///   - root: where to build; a new temporary directory (removed at exit) when `nil`.
    /// - Returns: the archive.
    /// - Throws: ``StrataError`` `.invalidInput` for duplicate packages or unknown suites or
    ///   components, `.toolFailed` when a tool fails.
    public static func build(
        packages: [DebPackageSpec], suites: [DebSuite], key: TestGPGKey?, origin: String = "Strata Test",
        date: Date? = nil, at root: String? = nil
    ) async throws -> DebFixtureRepo {
        let root = try root ?? TemporaryDirectory.make(prefix: "debrepo")
        let fm = FileManager.default
        try validate(packages, suites)
        let work = try TemporaryDirectory.make(prefix: "debstage", registerForCleanup: false)
        defer { try? fm.removeItem(atPath: work) }

        var built: [BuiltPackage] = []
        for (index, spec) in packages.enumerated() {
            let stage = "\(work)/\(index)"
            try writeTree(of: spec, into: stage)
            try fm.createDirectory(atPath: "\(root)/\(spec.poolDirectory)", withIntermediateDirectories: true)
            let relative = "\(spec.poolDirectory)/\(spec.fileName)"
            try await Shell.run(
                "dpkg-deb", ["--root-owner-group", "-Zxz", "--build", stage, "\(root)/\(relative)"],
                environment: ["SOURCE_DATE_EPOCH": "1700000000"])
            let size = try (fm.attributesOfItem(atPath: "\(root)/\(relative)")[.size] as? NSNumber)?.intValue ?? 0
            built.append(
                BuiltPackage(spec: spec, path: relative, sha256: try .of(file: "\(root)/\(relative)"), size: size))
        }

        // One scan per component; each suite's index is the subset of stanzas it publishes.
        var stanzas: [String: [String: String]] = [:]  // component → "name version arch" → stanza
        for component in Set(packages.map(\.component)) {
            let scan = try await Shell.run("apt-ftparchive", ["packages", "pool/\(component)"], directory: root)
            stanzas[component] = Dictionary(
                scan.output.components(separatedBy: "\n\n").compactMap { text -> (String, String)? in
                    let fields = controlFields(text)
                    guard let name = fields["Package"], let version = fields["Version"],
                        let arch = fields["Architecture"]
                    else { return nil }
                    return ("\(name) \(version) \(arch)", text.trimmingCharacters(in: .newlines))
                }, uniquingKeysWith: { first, _ in first })
        }

        for suite in suites {
            let dist = "\(root)/dists/\(suite.name)"
            for component in suite.components {
                for arch in suite.architectures {
                    let dir = "\(dist)/\(component)/binary-\(arch)"
                    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    let selected = packages.filter {
                        $0.suites.contains(suite.name) && $0.component == component
                            && ($0.architecture == arch || $0.architecture == "all")
                    }
                    let text = try selected.map { spec in
                        let id = "\(spec.name) \(spec.version) \(spec.architecture)"
                        guard let stanza = stanzas[component]?[id] else {
                            throw StrataError.internalError("apt-ftparchive did not list \(id)")
                        }
                        return stanza + "\n"
                    }.joined(separator: "\n")
                    try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/Packages"))
                    try await Shell.run("gzip", ["-9", "-n", "-k", "-f", "Packages"], directory: dir)
                    try await Shell.run("xz", ["-k", "-f", "Packages"], directory: dir)
                }
            }
            let release = "\(work)/Release-\(suite.name)"
            let option = "APT::FTPArchive::Release::"
            let result = try await Shell.run(
                "apt-ftparchive",
                [
                    "-o", "APT::FTPArchive::DoByHash=true",
                    "-o", "\(option)Origin=\(origin)", "-o", "\(option)Label=\(origin)",
                    "-o", "\(option)Suite=\(suite.name)", "-o", "\(option)Codename=\(suite.codename)",
                    "-o", "\(option)Architectures=\(suite.architectures.joined(separator: " "))",
                    "-o", "\(option)Components=\(suite.components.joined(separator: " "))",
                    "-o", "\(option)Description=strata test archive, suite \(suite.name)",
                    "release", ".",
                ], directory: dist)
            let dateLine = "Date: \(releaseDate(date ?? Date()))"
            let text = result.output.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix("Date: ") ? dateLine : String($0) }.joined(separator: "\n")
            try Data(text.utf8).write(to: URL(fileURLWithPath: release))
            try fm.moveItem(atPath: release, toPath: "\(dist)/Release")
            if let key {
                try await key.clearsign("\(dist)/Release", to: "\(dist)/InRelease")
                try await key.detachSign("\(dist)/Release", to: "\(dist)/Release.gpg")
            }
        }
        return DebFixtureRepo(root: root, suites: suites, packages: built, key: key)
    }

    /// A sources.list line (one-line style) for this archive served at `baseURL`.
    ///
    /// - Parameters:
    ///   - baseURL: where the archive root is served (`http://127.0.0.1:PORT/`).
    ///   - suite: the suite; the first one when `nil`.
    ///   - keyring: the `signed-by` keyring; this archive's key's when `nil`, none for unsigned.
    /// - Returns: `deb [signed-by=…] URL SUITE COMPONENTS`.
    public func sourcesLine(baseURL: String, suite: String? = nil, keyring: String? = nil) -> String {
        let chosen = suites.first { $0.name == suite } ?? suites[0]
        let signedBy = keyring ?? key?.keyringPath
        let options = signedBy.map { "[signed-by=\($0)] " } ?? "[trusted=yes] "
        return "deb \(options)\(baseURL) \(chosen.name) \(chosen.components.joined(separator: " "))"
    }

    /// One sources line per suite.
    public func sourcesLines(baseURL: String, keyring: String? = nil) -> [String] {
        suites.map { sourcesLine(baseURL: baseURL, suite: $0.name, keyring: keyring) }
    }

    /// The built package with this name (and version, when given).
    public func package(_ name: String, version: String? = nil) -> BuiltPackage? {
        packages.first { $0.spec.name == name && (version == nil || $0.spec.version == version) }
    }

    private static func validate(_ packages: [DebPackageSpec], _ suites: [DebSuite]) throws {
        guard !suites.isEmpty else { throw StrataError(.invalidInput, "a fixture archive needs at least one suite") }
        var seen = Set<String>()
        for spec in packages {
            let id = "\(spec.name)_\(spec.version)_\(spec.architecture)"
            guard seen.insert(id).inserted else { throw StrataError(.invalidInput, "package \(id) listed twice") }
            for name in spec.suites {
                guard let suite = suites.first(where: { $0.name == name }) else {
                    throw StrataError(.invalidInput, "package \(id) names unknown suite '\(name)'")
                }
                guard suite.components.contains(spec.component) else {
                    throw StrataError(.invalidInput, "package \(id): suite \(name) has no component \(spec.component)")
                }
            }
        }
    }

    private static func writeTree(of spec: DebPackageSpec, into stage: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(stage)/DEBIAN", withIntermediateDirectories: true)
        try write(spec.controlFile, to: "\(stage)/DEBIAN/control", mode: 0o644)
        for (path, content) in spec.files {
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw StrataError(.invalidInput, "package \(spec.name): file path '\(path)' must be absolute, no '..'")
            }
            let target = stage + path
            try fm.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try write(content, to: target, mode: path.contains("/bin/") ? 0o755 : 0o644)
        }
        // md5sums, as dh_md5sums writes it for every Debian package (dpkg --audit and --verify use it).
        if !spec.files.isEmpty {
            let sums = try spec.files.keys.sorted().map { path in
                "\(try Digests.md5(file: stage + path))  \(path.dropFirst())"
            }
            try write(sums.joined(separator: "\n") + "\n", to: "\(stage)/DEBIAN/md5sums", mode: 0o644)
        }
        if !spec.conffiles.isEmpty {
            try write(spec.conffiles.joined(separator: "\n") + "\n", to: "\(stage)/DEBIAN/conffiles", mode: 0o644)
        }
        for (script, text) in spec.maintainerScripts {
            try write(text, to: "\(stage)/DEBIAN/\(script)", mode: 0o755)
        }
    }

    private static func write(_ text: String, to path: String, mode: Int) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// RFC 2822 in UTC, spelled as Debian's Release files spell it: `Sat, 10 Jun 2023 08:53:47 UTC`.
    static func releaseDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }

    /// The fields of one deb822 stanza (continuation lines dropped).
    static func controlFields(_ stanza: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in stanza.split(separator: "\n") where !line.hasPrefix(" ") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}
