import Foundation
import StrataCore

/// A target (`debian/12`, `debian/12/amd64`) resolved against a tree: which `config/`
/// directories apply, top down.
///
/// A target is `DISTRO/VERSION` or `DISTRO/VERSION/ARCH`. The levels read are
/// `config/` at the root, `DISTRO/config/`, `DISTRO/VERSION/config/` and
/// `DISTRO/VERSION/ARCH/config/`; each is optional, but `DISTRO/VERSION/` must exist.
/// The architecture directory is looked up by its Debian name (`amd64`) and then its RPM name
/// (`x86_64`).
struct TemplateTarget: Sendable, Equatable {
    /// `debian/12`, or `debian/12/amd64` when the architecture was part of the target.
    var name: String
    var architecture: Architecture
    /// Existing `config/` directories, most general first.
    var configDirectories: [String]

    /// - Throws: ``StrataError`` `.invalidInput` for a malformed target or conflicting
    ///   architectures, `.notFound` for a distro or version the tree does not have.
    init(_ target: String, architecture requested: Architecture?, root: String) throws {
        let parts = target.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 2 || parts.count == 3,
            parts.allSatisfy({ !$0.hasPrefix(".") && $0 != TemplateTree.configDirectoryName })
        else {
            throw StrataError(
                .invalidInput, "invalid target '\(target)': expected DISTRO/VERSION or DISTRO/VERSION/ARCH")
        }
        let versionDirectory = "\(root)/\(parts[0])/\(parts[1])"
        guard Self.isDirectory(versionDirectory) else {
            let known = (try? TemplateTree(root: root).targets()) ?? []
            let list = known.isEmpty ? "none" : known.joined(separator: ", ")
            throw StrataError(.notFound, "unknown target '\(target)' in \(root) (targets: \(list))")
        }
        var architecture = requested ?? Architecture.host
        if parts.count == 3 {
            let named = Architecture.parse(parts[2])
            if let requested, requested != named {
                throw StrataError(
                    .invalidInput,
                    "target '\(target)' names architecture \(named) but \(requested) was requested")
            }
            architecture = named
        }
        self.architecture = architecture
        self.name = parts.count == 3 ? "\(parts[0])/\(parts[1])/\(architecture.debian)" : "\(parts[0])/\(parts[1])"

        var levels = [root, "\(root)/\(parts[0])", versionDirectory]
        let archCandidates = [architecture.debian, architecture.rpm].map { "\(versionDirectory)/\($0)" }
        if let archDirectory = archCandidates.first(where: Self.isDirectory) {
            levels.append(archDirectory)
        }
        self.configDirectories = levels.map { "\($0)/\(TemplateTree.configDirectoryName)" }.filter(Self.isDirectory)
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Visible subdirectories of `path` other than `config`, sorted with numbers in numeric order.
    static func subdirectories(of path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter {
            !$0.hasPrefix(".") && $0 != TemplateTree.configDirectoryName && isDirectory("\(path)/\($0)")
        }.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
    }
}
