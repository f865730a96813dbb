// The apt sources a finished Debian tree keeps: the repositories it was built from, as the
// template declares them for the image (image-url, trusted, the keyring apt should check with).
import Foundation
import StrataCore
import StrataPackaging
import StrataStore
import StrataTemplate

#if canImport(Glibc)
    import Glibc
#endif

public enum AptSources {
    /// Writes `/etc/apt/sources.list.d/strata.sources` (deb822): the repositories the image's
    /// apt should use, as the template declares them. A repository's `image-url` replaces the
    /// URL the build fetched from (`none` leaves it out); a `file:` URL exists only on the build
    /// host and is left out unless `image-url` names another. `trusted: true` is written as
    /// `Trusted: yes`; otherwise `Signed-By:` names the keyring, copied into
    /// `/etc/apt/keyrings/` when the tree does not have it at the same path.
    /// - Returns: one line per repository left out, saying why.
    public static func write(root: String, repositories: [Lockfile.Repository], specs: [RepositorySpec]) throws
        -> [String]
    {
        var stanzas = [String]()
        var leftOut = [String]()
        for repository in repositories {
            guard let suite = repository.suite else { continue }
            let spec = specs.first { $0.name == repository.name }
            if spec?.imageURL == RepositorySpec.notInImage {
                leftOut.append("repository '\(repository.name)' is left out of the image's apt sources (image-url: none)")
                continue
            }
            let url = spec?.imageURL ?? repository.url
            if url.lowercased().hasPrefix("file:") {
                leftOut.append(
                    "repository '\(repository.name)' is left out of the image's apt sources: \(url) exists only on the "
                        + "build host (set image-url: on the repository to name the URL the image should use)")
                continue
            }
            var lines = [
                "Types: deb", "URIs: \(url)", "Suites: \(suite)",
                "Components: \((spec?.components.isEmpty == false ? spec?.components ?? [] : ["main"]).joined(separator: " "))",
            ]
            if spec?.trusted == true {
                lines.append("Trusted: yes")
            } else if let keyring = spec?.keyring {
                lines.append("Signed-By: \(try keyringInTree(keyring, repository: repository.name, root: root))")
            }
            stanzas.append(lines.joined(separator: "\n"))
        }
        guard !stanzas.isEmpty else { return leftOut }
        try RootedPath.write(
            Array((stanzas.joined(separator: "\n\n") + "\n").utf8), to: "etc/apt/sources.list.d/strata.sources", in: root)
        return leftOut
    }

    /// The path, inside the tree, of a keyring with the bytes of the host's `keyring`: the same
    /// path when the tree has that file (a keyring package installed it), else a copy under
    /// `/etc/apt/keyrings/` (`.asc` when armored, as apt requires).
    private static func keyringInTree(_ keyring: String, repository: String, root: String) throws -> String {
        let bytes = try FileReader.readAll(keyring)
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        if (try? tree.read(String(keyring.drop { $0 == "/" }))) == bytes { return keyring }
        let armored = bytes.starts(with: Array("-----BEGIN PGP".utf8))
        let path = "/etc/apt/keyrings/strata-\(repository).\(armored ? "asc" : "gpg")"
        try tree.write(bytes, to: String(path.dropFirst()), mode: 0o644)
        return path
    }
}
