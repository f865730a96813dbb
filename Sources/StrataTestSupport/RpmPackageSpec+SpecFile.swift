// Turning an RpmPackageSpec into what rpmbuild reads: a staged build root (files, directories,
// symlinks; hardlinks are made by `ln` in %install so that rpmbuild sees one inode) and a spec
// file whose %install copies it and whose %files lists every entry with its directives.
// The result is checked first, so that a bad fixture fails with its package and path named
// rather than with rpmbuild's "File not found" from a temporary directory.
import Foundation
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

extension RpmPackageSpec {
    /// Characters a path in `%files` cannot hold without quoting or globbing.
    private static let unsafePathCharacters = Set(" \t\n\"'\\*?[]{}%$`")

    /// Checks that the spec can be built as written.
    /// - Throws: ``StrataError`` `.invalidInput` naming the package and the path or scriptlet.
    func validate() throws {
        let all = allFiles
        var seen = Set<String>()
        for entry in all {
            let path = entry.path
            guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/"),
                !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }),
                !path.contains(where: Self.unsafePathCharacters.contains)
            else {
                throw StrataError(
                    .invalidInput,
                    "rpm \(name): file path '\(path)' must be absolute, without '.', '..', spaces, quotes or globs")
            }
            guard seen.insert(path).inserted else {
                throw StrataError(.invalidInput, "rpm \(name): '\(path)' is listed twice")
            }
            if let mode = entry.mode, mode > 0o7777 {
                throw StrataError(
                    .invalidInput, "rpm \(name): mode \(String(mode, radix: 8)) of '\(path)' is not 4 octal digits")
            }
        }
        let regular = Set(
            all.filter {
                switch $0.content {
                case .bytes, .hostFile: true
                default: false
                }
            }.map(\.path))
        for entry in all {
            if case .hardlink(let target) = entry.content, !regular.contains(target) {
                throw StrataError(
                    .invalidInput,
                    "rpm \(name): hardlink '\(entry.path)' points at '\(target)', not a regular file of it")
            }
            if case .symlink(let target) = entry.content, target.isEmpty || target.contains("\n") {
                throw StrataError(.invalidInput, "rpm \(name): symlink '\(entry.path)' has an unusable target")
            }
        }
        let phases = scriptlets.map(\.phase)
        if let twice = phases.first(where: { phase in phases.filter { $0 == phase }.count > 1 }) {
            throw StrataError(.invalidInput, "rpm \(name): more than one %\(twice.rawValue)")
        }
        if let payload = payloadCompression,
            payload.wholeMatch(of: /w[0-9]*T?[0-9]*\.(gzdio|bzdio|xzdio|lzdio|zstdio|ufdio)/) == nil
        {
            throw StrataError(.invalidInput, "rpm \(name): payload compression '\(payload)' is not like 'w3.zstdio'")
        }
        for trigger in fileTriggers
        where trigger.prefixes.isEmpty || trigger.prefixes.contains(where: { !$0.hasPrefix("/") || $0.contains(" ") }) {
            throw StrataError(.invalidInput, "rpm \(name): %\(trigger.kind.rawValue) needs absolute path prefixes")
        }
    }

    /// Writes every file, directory and symlink of the package under `stage` (hardlinks are left
    /// to %install).
    /// - Throws: ``StrataError`` `.notFound` for a missing host file, `.io` when writing fails.
    func stage(into stage: String) throws {
        let fm = FileManager.default
        for entry in allFiles {
            let target = stage + entry.path
            do {
                try fm.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                switch entry.content {
                case .bytes(let data):
                    try data.write(to: URL(fileURLWithPath: target))
                    try chmod(target, entry.mode ?? 0o644)
                case .hostFile(let source):
                    var st = stat()
                    guard stat(source, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
                        let data = fm.contents(atPath: source)
                    else {
                        throw StrataError(.notFound, "rpm \(name): host file '\(source)' is not a readable file")
                    }
                    try data.write(to: URL(fileURLWithPath: target))
                    try chmod(target, entry.mode ?? UInt16(st.st_mode & 0o7777))
                case .directory:
                    try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
                    try chmod(target, entry.mode ?? 0o755)
                case .symlink(let destination):
                    try fm.createSymbolicLink(atPath: target, withDestinationPath: destination)
                case .hardlink:
                    break
                }
            } catch let error as StrataError {
                throw error
            } catch {
                throw StrataError(
                    .io, "rpm \(name): cannot stage '\(entry.path)' in \(stage)", cause: StrataError(describing: error))
            }
        }
    }

    private func chmod(_ path: String, _ mode: UInt16) throws {
        guard Glibc.chmod(path, mode_t(mode)) == 0 else {
            throw StrataError(.io, "cannot chmod \(path): \(StrataError.reason(errno: errno))")
        }
    }

    /// The spec file text; `stage` is the directory whose tree `%install` copies.
    func specFile(stage: String) -> String {
        var lines = [
            "Name: \(name)", "Version: \(version)", "Release: \(release)", "Summary: \(summary)", "License: MIT",
            "BuildArch: \(architecture)", "AutoReqProv: no",
        ]
        if let epoch { lines.append("Epoch: \(epoch)") }
        for (tag, values) in [
            ("Requires", requires), ("Provides", provides), ("Conflicts", conflicts),
            ("Obsoletes", obsoletes), ("Recommends", recommends), ("Suggests", suggests),
            ("Supplements", supplements), ("Enhances", enhances),
        ] {
            lines += values.map { "\(tag): \($0)" }
        }
        for phase in scriptletRequires.keys.sorted() {
            lines += (scriptletRequires[phase] ?? []).map { "Requires(\(phase.rawValue)): \($0)" }
        }
        lines += ["%global debug_package %{nil}", "%global __os_install_post %{nil}"]
        if let payloadCompression { lines.append("%define _binary_payload \(payloadCompression)") }
        lines += [
            "",
            "%description", "Built by strata's test support; not a real package.", "",
            "%install", "mkdir -p %{buildroot}", "cp -a '\(stage)/.' %{buildroot}/",
        ]
        for entry in allFiles {
            guard case .hardlink(let target) = entry.content else { continue }
            let directory = (entry.path as NSString).deletingLastPathComponent
            lines.append("mkdir -p '%{buildroot}\(directory)'")
            lines.append("ln -f '%{buildroot}\(target)' '%{buildroot}\(entry.path)'")
        }
        lines += ["", "%files"]
        lines += allFiles.map(\.filesLine)
        for scriptlet in scriptlets.sorted(by: { $0.phase < $1.phase }) {
            lines += ["", scriptlet.section]
        }
        for trigger in fileTriggers {
            lines += ["", trigger.section]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
