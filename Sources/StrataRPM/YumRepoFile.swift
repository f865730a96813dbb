// What an RPM tree keeps for its own package tools: /etc/yum.repos.d/strata.repo naming the
// repositories it was built from (as the template declares them for the image: image-url, the
// keyring dnf checks repomd.xml with), and /etc/rpm/macros.strata recording the template's
// install policy (%_netsharedpath for its excludes, %_install_langs), so later installs inside
// obey them. The mirror roles a host's own /etc/yum.repos.d names are read here too.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

#if canImport(Glibc)
    import Glibc
#endif

enum YumRepoFile {
    /// Writes the repository file; returns one line per repository left out, saying why.
    static func write(root: String, repositories: [Lockfile.Repository], specs: [RepositorySpec]) throws -> [String] {
        var sections = [String]()
        var leftOut = [String]()
        for repository in repositories {
            let spec = specs.first { $0.name == repository.name }
            if spec?.imageURL == RepositorySpec.notInImage {
                leftOut.append("repository '\(repository.name)' is left out of the image's yum.repos.d (image-url: none)")
                continue
            }
            let url = spec?.imageURL ?? repository.url
            if url.lowercased().hasPrefix("file:") {
                leftOut.append(
                    "repository '\(repository.name)' is left out of the image's yum.repos.d: \(url) exists only on the "
                        + "build host (set image-url: on the repository to name the URL the image should use)")
                continue
            }
            var lines = ["[\(repository.name)]", "name=\(repository.name)", "baseurl=\(url)", "enabled=1"]
            if spec?.trusted == true {
                lines += ["gpgcheck=0", "repo_gpgcheck=0"]
            } else if let keyring = spec?.keyring {
                lines += ["gpgcheck=0", "repo_gpgcheck=1", "gpgkey=file://\(try keyInTree(keyring, repository: repository.name, root: root))"]
            }
            sections.append(lines.joined(separator: "\n"))
        }
        guard !sections.isEmpty else { return leftOut }
        try RootedPath.write(
            Array(("# Written by strata: the repositories this template was built from.\n" + sections.joined(separator: "\n\n") + "\n").utf8),
            to: "etc/yum.repos.d/strata.repo", in: root)
        return leftOut
    }

    /// The key's path in the tree: the same path when a package installed it, else a copy under
    /// /etc/pki/rpm-gpg/.
    private static func keyInTree(_ keyring: String, repository: String, root: String) throws -> String {
        let bytes = try FileReader.readAll(keyring)
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        if (try? tree.read(String(keyring.drop { $0 == "/" }))) == bytes { return keyring }
        let path = "/etc/pki/rpm-gpg/strata-\(repository)"
        try tree.write(bytes, to: String(path.dropFirst()), mode: 0o644)
        return path
    }
}

enum RpmMacros {
    static let path = "etc/rpm/macros.strata"

    /// Writes the template's install policy as rpm macros, when it has any.
    static func write(root: String, settings: [String: String], excludes: [String]) throws {
        var lines = [String]()
        let shared = excludes.map { $0.hasSuffix("/*") ? String($0.dropLast(2)) : $0 }
        if !shared.isEmpty { lines.append("%_netsharedpath \(shared.joined(separator: ":"))") }
        if let langs = settings["install-langs"] { lines.append("%_install_langs \(langs)") }
        if let dbpath = settings["rpmdb-path"] { lines.append("%_dbpath \(dbpath)") }
        guard !lines.isEmpty else { return }
        try RootedPath.write(
            Array(("# Written by strata: the template's install policy, for rpm and dnf inside.\n" + lines.joined(separator: "\n") + "\n").utf8),
            to: path, in: root)
    }
}

/// The host's /etc/yum.repos.d: each repository id with a `baseurl` is a mirror role.
enum HostYumRepos {
    static func mirrorRoles(root: String = "") -> [String: String] {
        let directory = "\(root)/etc/yum.repos.d"
        var roles = [String: String]()
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        where name.hasSuffix(".repo") {
            guard let text = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) else { continue }
            var section: String?
            for raw in text.split(separator: "\n") {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("["), line.hasSuffix("]") {
                    section = String(line.dropFirst().dropLast())
                } else if let id = section, line.hasPrefix("baseurl"), let equals = line.firstIndex(of: "="),
                    roles[id] == nil
                {
                    let url = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                        .split(separator: " ").first.map(String.init) ?? ""
                    if url.contains("://") { roles[id] = url.hasSuffix("/") ? String(url.dropLast()) : url }
                }
            }
        }
        return roles
    }
}
