// An rpm-md repository built at test time with the real tools:
//
//   Packages/<name>-<version>-<release>.<arch>.rpm   rpmbuild -bb (one spec file per package, two at a time)
//   repodata/repomd.xml, <hash>-primary.xml.gz, …   createrepo_c
//   repodata/repomd.xml.asc                         gpg --armor --detach-sign (when a key is given)
//
// The rpms themselves are not signed (no rpmsign); dnf's gpgcheck for packages is not covered.
import Foundation
import StrataCore

/// An rpm-md repository on disk, made from ``RpmPackageSpec``s.
public struct RpmFixtureRepo: Sendable {
    /// An rpm as built and published.
    public struct BuiltPackage: Sendable, Hashable {
        /// What it was built from.
        public let spec: RpmPackageSpec
        /// Its path relative to the repository root (`Packages/foo-1.0-1.noarch.rpm`).
        public let path: String
        /// The SHA-256 of the file.
        public let sha256: SHA256Digest
    }

    /// The repository root (holding `repodata/`), what a `baseurl=` points at.
    public let root: String
    /// Every package built, in spec order.
    public let packages: [BuiltPackage]
    /// The key `repomd.xml.asc` is made with; `nil` when unsigned.
    public let key: TestGPGKey?

    /// `repodata/repomd.xml`.
    public var repomdPath: String { "\(root)/repodata/repomd.xml" }

    /// Builds the repository.
    ///
    /// - Parameters:
    ///   - packages: the packages.
    ///   - key: when given, `repodata/repomd.xml.asc` (armored, detached) is written with it.
    ///   - root: where to build; a new temporary directory (removed at exit) when `nil`.
    /// - Returns: the repository.
    /// - Throws: ``StrataError`` `.invalidInput` for duplicate packages or bad file paths,
    ///   `.toolFailed` when rpmbuild, createrepo_c or gpg fail.
    public static func build(packages: [RpmPackageSpec], key: TestGPGKey?, at root: String? = nil) async throws
        -> RpmFixtureRepo
    {
        let root = try root ?? TemporaryDirectory.make(prefix: "rpmrepo")
        let fm = FileManager.default
        let work = try TemporaryDirectory.make(prefix: "rpmbuild", registerForCleanup: false)
        defer { try? fm.removeItem(atPath: work) }
        try fm.createDirectory(atPath: "\(root)/Packages", withIntermediateDirectories: true)
        guard Set(packages.map(\.fileName)).count == packages.count else {
            throw StrataError(.invalidInput, "an rpm fixture lists the same package twice")
        }
        for spec in packages { try spec.validate() }

        // rpmbuild is mostly compression on one core: two at a time on the two-core machines.
        var built = [BuiltPackage?](repeating: nil, count: packages.count)
        try await withThrowingTaskGroup(of: (Int, BuiltPackage).self) { group in
            var next = 0
            func addNext() {
                guard next < packages.count else { return }
                let index = next
                next += 1
                group.addTask {
                    (index, try await buildPackage(packages[index], index: index, work: work, root: root))
                }
            }
            for _ in 0..<2 { addNext() }
            while let (index, package) = try await group.next() {
                built[index] = package
                addNext()
            }
        }

        try await Shell.run(
            "createrepo_c", ["--quiet", "--no-database", "--workers", "1", root], timeout: .seconds(60))
        if let key {
            try await key.detachSign(
                "\(root)/repodata/repomd.xml", to: "\(root)/repodata/repomd.xml.asc", armored: true)
        }
        return RpmFixtureRepo(root: root, packages: built.compactMap { $0 }, key: key)
    }

    /// Stages, writes and builds one package; moves the rpm into `root/Packages`.
    private static func buildPackage(_ spec: RpmPackageSpec, index: Int, work: String, root: String) async throws
        -> BuiltPackage
    {
        let fm = FileManager.default
        let stage = "\(work)/stage-\(index)"
        try fm.createDirectory(atPath: stage, withIntermediateDirectories: true)
        try spec.stage(into: stage)
        let specPath = "\(work)/\(spec.name)-\(index).spec"
        try Data(spec.specFile(stage: stage).utf8).write(to: URL(fileURLWithPath: specPath))
        let topdir = "\(work)/top-\(index)"
        try await Shell.run(
            "rpmbuild",
            [
                "-bb", "--quiet", "--define", "_topdir \(topdir)", "--define", "_build_id_links none",
                "--define", "_buildhost strata-test.invalid", "--define", "use_source_date_epoch_as_buildtime 1",
                specPath,
            ], environment: ["SOURCE_DATE_EPOCH": "1700000000"], directory: work, timeout: .seconds(60))
        let output = "\(topdir)/RPMS/\(spec.architecture)/\(spec.fileName)"
        let relative = "Packages/\(spec.fileName)"
        try fm.moveItem(atPath: output, toPath: "\(root)/\(relative)")
        return BuiltPackage(spec: spec, path: relative, sha256: try .of(file: "\(root)/\(relative)"))
    }

    /// A dnf/yum `.repo` stanza for this repository served at `baseURL`.
    public func repoFile(id: String = "strata-fixture", baseURL: String) -> String {
        var lines = ["[\(id)]", "name=strata fixture", "baseurl=\(baseURL)", "enabled=1", "gpgcheck=0"]
        if let key {
            lines += ["repo_gpgcheck=1", "gpgkey=file://\(key.armoredPublicKeyPath)"]
        } else {
            lines.append("repo_gpgcheck=0")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The built package with this name (and version, when given).
    public func package(_ name: String, version: String? = nil) -> BuiltPackage? {
        packages.first { $0.spec.name == name && (version == nil || $0.spec.version == version) }
    }
}
