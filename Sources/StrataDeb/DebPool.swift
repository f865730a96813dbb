// Loading verified Debian indexes into a libsolv pool. A `Packages` file is parsed once: libsolv
// reads the dependencies, our scan adds Priority, Essential and Size, and the result is written
// as `<store>/cache/solv/<sha256 of Packages.xz>.v1.solv`, which later runs load instead (about
// 60 ms instead of a second for Debian's main).
import Foundation
import StrataArchive
import StrataCore
import StrataSolver
import StrataStore

public enum DebAttribute {
    public static let priority = "strata:priority"
    public static let essential = "strata:essential"
}

extension SolvPool {
    /// Adds every Packages file of `indexes` as a repository named after the template's repository.
    public func addDebian(_ indexes: DebRepositoryIndexes, store: BlobStore) throws {
        let cacheDir = "\(store.root)/cache/solv"
        try FileSystem.makeDirectories(cacheDir)
        for file in indexes.packages {
            let repo = makeRepo(name: indexes.source.name)
            let cachePath = "\(cacheDir)/\(file.sha256.hex).v1.solv"
            if FileManager.default.fileExists(atPath: cachePath), (try? repo.addSolvFile(cachePath)) != nil {
                continue
            }
            let what = "\(indexes.source.url)/dists/\(indexes.source.suite)/\(file.path)"
            let bytes = try Decompressor.decompress(file: store.path(of: file.sha256), what: what)
            try repo.addDebianPackages(bytes, what: what)
            let extras = PackagesIndex.scanExtras(bytes)
            let solvables = repo.solvables
            guard extras.count == solvables.count else {
                throw StrataError.internalError("\(what): \(extras.count) stanzas but libsolv made \(solvables.count) packages")
            }
            for (id, extra) in zip(solvables, extras) {
                guard name(of: id) == extra.name else {
                    throw StrataError.internalError("\(what): stanza order differs from libsolv's at \(extra.name)")
                }
                if let priority = extra.priority { repo.setAttribute(id, key: DebAttribute.priority, value: priority) }
                if extra.essential { repo.setAttribute(id, key: DebAttribute.essential, value: "yes") }
                if let size = extra.size { repo.setDownloadSize(id, size) }
            }
            repo.internalize()
            try repo.write(toSolvFile: cachePath, temporaryDirectory: "\(store.root)/tmp")
        }
    }
}
