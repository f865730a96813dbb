// Export: the finished tree as the output the user asked for: a reproducible tar (sorted entries,
// numeric owners, mtimes clamped, fixed compression settings, only the packages' own hardlinks)
// or a plain directory (a copy with `cp -a`, for systemd-nspawn and inspection).
import Foundation
import StrataArchive
import StrataCore

enum Exporter {
    static func export(
        root: String, to output: String, format: Builder.OutputFormat, clampMtime: Int64, hardlinks: Set<String>
    ) throws -> (files: Int, bytes: UInt64) {
        let directory = (output as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        switch format {
        case .tar(let compression):
            let temp = "\(output).strata-\(UInt64.random(in: 0...UInt64.max))"
            do {
                let stats = try TarWriter.exportDirectory(
                    root, to: temp, compression: compression, clampMtime: clampMtime, owners: OwnerNames(tree: root),
                    hardlinks: hardlinks)
                guard rename(temp, output) == 0 else { throw StrataError(.io, "cannot move the output to \(output)") }
                return (stats.entries, stats.bytes)
            } catch {
                unlink(temp)
                throw error
            }
        case .directory:
            if FileManager.default.fileExists(atPath: output) {
                throw StrataError(.invalidInput, "\(output) exists; a directory output must not (remove it first)")
            }
            let copy = try Command.run("/bin/cp", ["-a", "--", root, output])
            guard copy.status == 0 else { throw StrataError(.io, "cannot copy the tree to \(output): \(copy.stderr)") }
            let count = try Command.run("/usr/bin/find", [output, "-xdev"])
            return (count.stdoutText.split(separator: "\n").count, 0)
        }
    }
}
