// Writing dpkg's database for packages whose files are already in place (composed from the store
// instead of unpacked by dpkg), so that the template's own dpkg can configure them. What dpkg
// itself would leave after `dpkg --unpack`:
//
//   var/lib/dpkg/status              one stanza per package: its control fields, `Status: install ok
//                                    unpacked`, and `Conffiles:` with each conffile's real md5 (so
//                                    dpkg keeps the file in place instead of asking about it)
//   var/lib/dpkg/info/P.list         every path of the data archive, in archive order ("/." first)
//   var/lib/dpkg/info/P.{md5sums,conffiles,preinst,postinst,prerm,postrm,config,templates,triggers,shlibs,symbols}
//   var/lib/dpkg/triggers/File       file-trigger interests ("PATH PKG[/noawait]")
//   var/lib/dpkg/triggers/NAME       explicit-trigger interests ("PKG[/noawait]")
//   var/lib/dpkg/info/format, diversions, triggers/Unincorp, updates/, parts/, alternatives/
//
// P is `name`, or `name:arch` for `Multi-Arch: same`. See dpkg(1), deb-triggers(5),
// notes/debian-compose.md for what was measured against mmdebstrap.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

/// One package as the database needs it.
public struct DebPackageRecord: Sendable {
    public var name: String
    public var architecture: String
    /// The control archive's members by name (`control`, `md5sums`, `conffiles`, `postinst`, …).
    public var control: [String: [UInt8]]
    /// The data archive's paths in archive order, relative without a leading slash ("" is the root).
    public var paths: [String]

    public init(name: String, architecture: String, control: [String: [UInt8]], paths: [String]) {
        self.name = name
        self.architecture = architecture
        self.control = control
        self.paths = paths
    }

    var controlStanza: String { String(decoding: control["control"] ?? [], as: UTF8.self) }

    var isMultiArchSame: Bool {
        controlStanza.split(separator: "\n").contains { $0.lowercased().hasPrefix("multi-arch:") && $0.hasSuffix("same") }
    }

    /// The name dpkg files the package's info under.
    public var infoName: String { isMultiArchSame ? "\(name):\(architecture)" : name }

    /// Conffile paths (absolute, as `conffiles` lists them), without `remove-on-upgrade` entries.
    public var conffiles: [String] {
        String(decoding: control["conffiles"] ?? [], as: UTF8.self).split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard let path = words.last, words.count == 1 || !words.contains("remove-on-upgrade") else { return nil }
            return String(path)
        }
    }

    /// md5 of each file from `md5sums` (paths without a leading slash).
    var md5sums: [String: String] {
        var out = [String: String]()
        for line in String(decoding: control["md5sums"] ?? [], as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2 else { continue }
            out[parts[1].trimmingCharacters(in: .whitespaces)] = String(parts[0])
        }
        return out
    }
}

extension DummyPackage {
    /// Its `status` stanza: installed, no files.
    var stanza: String {
        var lines = [
            "Package: \(name)", "Status: install ok installed", "Priority: optional", "Section: misc",
            "Maintainer: strata <dummy@strata.invalid>", "Architecture: all", "Version: \(version)",
        ]
        if !provides.isEmpty { lines.append("Provides: \(provides.joined(separator: ", "))") }
        lines.append("Description: dummy package made by strata")
        lines.append(" Satisfies dependencies of the template; installs no files.")
        return lines.joined(separator: "\n") + "\n"
    }
}

public enum DpkgDatabase {
    static let infoMembers = ["md5sums", "conffiles", "preinst", "postinst", "prerm", "postrm", "config", "templates",
        "triggers", "shlibs", "symbols"]
    static let scripts: Set<String> = ["preinst", "postinst", "prerm", "postrm", "config"]

    /// Writes the database for `packages` into the tree at `root`.
    /// - Parameter md5: computes a conffile's md5 when the package's `md5sums` lacks it.
    /// - Throws: ``StrataError`` `.invalidInput` naming the package for a control file without
    ///   `Package`, `.io` for write failures.
    public static func write(
        _ packages: [DebPackageRecord], dummies: [DummyPackage] = [], root: String, md5: (String) throws -> String
    ) throws {
        let admin = "\(root)/var/lib/dpkg"
        for dir in ["var/lib/dpkg/info", "var/lib/dpkg/triggers", "var/lib/dpkg/updates"] {
            try FileSystem.requireRealDirectories(dir, in: root)
        }
        for dir in ["info", "updates", "parts", "alternatives", "triggers"] {
            try FileSystem.makeDirectories("\(admin)/\(dir)")
        }
        var status = ""
        var interests = TriggerInterests()
        for package in packages.sorted(by: { $0.infoName < $1.infoName }) {
            status += try stanza(for: package, root: root, md5: md5) + "\n"
            try writeInfo(package, admin: admin, root: root, md5: md5, interests: &interests)
        }
        for dummy in dummies.sorted(by: { $0.name < $1.name }) {
            status += dummy.stanza + "\n"
            try write(Array("/.\n".utf8), to: "\(admin)/info/\(dummy.name).list", mode: 0o644)
            try write([], to: "\(admin)/info/\(dummy.name).md5sums", mode: 0o644)
        }
        try write(Array(status.utf8), to: "\(admin)/status", mode: 0o644)
        try write(Array("1\n".utf8), to: "\(admin)/info/format", mode: 0o644)
        try write([], to: "\(admin)/diversions", mode: 0o644)
        try write([], to: "\(admin)/triggers/Unincorp", mode: 0o644)
        try interests.write(admin: admin, appending: false, tree: nil)
    }

    /// Adds `packages` (composed over a tree whose database lists its installed packages) to
    /// that database as unpacked, as `dpkg --unpack` of them would: their stanzas join the
    /// status file, their info files and trigger interests are written beside the base's.
    /// - Throws: ``StrataError`` `.invalidInput` for a package the database already has, `.io`.
    public static func add(
        _ packages: [DebPackageRecord], dummies: [DummyPackage] = [], root: String, md5: (String) throws -> String
    ) throws {
        let admin = "\(root)/var/lib/dpkg"
        for dir in ["var/lib/dpkg/info", "var/lib/dpkg/triggers", "var/lib/dpkg/updates"] {
            try FileSystem.requireRealDirectories(dir, in: root)
        }
        // The base's scripts wrote in this tree: its files are read rooted, no link followed.
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        guard let bytes = try tree.read("var/lib/dpkg/status", limit: 256 << 20) else {
            throw StrataError(.invalidInput, "\(root): the base tree has no var/lib/dpkg/status file")
        }
        let existing = String(decoding: bytes, as: UTF8.self)
        var stanzas = existing.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .newlines) }
            .filter { !$0.isEmpty }
        let installed = Set(stanzas.map(packageName))
        var interests = TriggerInterests()
        for package in packages.sorted(by: { $0.infoName < $1.infoName }) {
            guard !installed.contains(package.name) else {
                throw StrataError(.invalidInput, "\(package.name): the base tree has it installed already")
            }
            stanzas.append(try stanza(for: package, root: root, md5: md5).trimmingCharacters(in: .newlines))
            try writeInfo(package, admin: admin, root: root, md5: md5, interests: &interests)
        }
        for dummy in dummies where !installed.contains(dummy.name) {
            stanzas.append(dummy.stanza.trimmingCharacters(in: .newlines))
            try write(Array("/.\n".utf8), to: "\(admin)/info/\(dummy.name).list", mode: 0o644)
            try write([], to: "\(admin)/info/\(dummy.name).md5sums", mode: 0o644)
        }
        // dpkg writes its status sorted by name; it rewrites it when it configures anyway.
        let sorted = stanzas.sorted { packageName($0) < packageName($1) }
        try write(Array((sorted.joined(separator: "\n\n") + "\n\n").utf8), to: "\(admin)/status", mode: 0o644)
        try interests.write(admin: admin, appending: true, tree: tree)
    }

    private static func packageName(_ stanza: String) -> String {
        stanza.split(separator: "\n").first { $0.hasPrefix("Package:") }
            .map { $0.dropFirst("Package:".count).trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// The trigger interests a set of packages registers: file triggers (`triggers/File`) and
    /// named ones (`triggers/NAME`).
    struct TriggerInterests {
        var files = [(path: String, package: String)]()
        var named = [String: [String]]()

        /// - Parameter tree: the tree, to read what is there already when `appending`.
        func write(admin: String, appending: Bool, tree: RootedPath?) throws {
            func append(_ lines: [String], to path: String) throws {
                guard !lines.isEmpty else { return }
                let relative = "var/lib/dpkg/" + path.dropFirst(admin.count + 1)
                let before = appending ? try tree?.read(relative) : nil
                var text = String(decoding: before ?? [], as: UTF8.self)
                if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
                text += lines.joined(separator: "\n") + "\n"
                try DpkgDatabase.write(Array(text.utf8), to: path, mode: 0o644)
            }
            try append(files.map { "\($0.path) \($0.package)" }, to: "\(admin)/triggers/File")
            for (name, interested) in named.sorted(by: { $0.key < $1.key }) {
                try append(interested, to: "\(admin)/triggers/\(name)")
            }
        }
    }

    /// A package's `info/` files (list, control members, md5sums) and its trigger interests.
    private static func writeInfo(
        _ package: DebPackageRecord, admin: String, root: String, md5: (String) throws -> String,
        interests: inout TriggerInterests
    ) throws {
        let info = "\(admin)/info/\(package.infoName)"
        let list = package.paths.map { $0.isEmpty ? "/." : "/\($0)" }.joined(separator: "\n") + "\n"
        try write(Array(list.utf8), to: "\(info).list", mode: 0o644)
        for member in infoMembers {
            guard let bytes = package.control[member] else { continue }
            try write(bytes, to: "\(info).\(member)", mode: scripts.contains(member) ? 0o755 : 0o644)
        }
        if package.control["md5sums"] == nil {
            // dpkg computes md5sums at unpack time for a package that ships none.
            try write(Array(try computedMD5Sums(package, root: root, md5: md5).utf8), to: "\(info).md5sums", mode: 0o644)
        }
        for directive in triggerDirectives(package) {
            let suffix = directive.kind.hasSuffix("-noawait") ? "/noawait" : ""
            guard directive.kind.hasPrefix("interest") else { continue }
            if directive.name.hasPrefix("/") {
                interests.files.append((directive.name, package.infoName + suffix))
            } else {
                // An explicit trigger's name is a file name under triggers/.
                guard !directive.name.contains("/"), directive.name != "..", directive.name != "." else {
                    throw StrataError(.invalidInput, "\(package.name): invalid trigger name '\(directive.name)'")
                }
                interests.named[directive.name, default: []].append(package.infoName + suffix)
            }
        }
    }

    /// The triggers a set of packages activates at unpack time, which composing skipped: explicit
    /// `activate*` directives, and file-trigger interests matched by a path some package ships.
    /// - Parameter interests: file-trigger interests already registered (a layer's base), which
    ///   the packages' paths may also set off.
    public static func pendingActivations(_ packages: [DebPackageRecord], interests registered: [String] = []) -> [String] {
        var names = Set<String>()
        var interests = registered
        for package in packages {
            for directive in triggerDirectives(package) {
                if directive.kind.hasPrefix("activate") { names.insert(directive.name) }
                if directive.kind.hasPrefix("interest"), directive.name.hasPrefix("/") { interests.append(directive.name) }
            }
        }
        for interest in interests {
            let prefix = String(interest.dropFirst())
            let hit = packages.contains { package in
                package.paths.contains { $0 == prefix || $0.hasPrefix(prefix + "/") }
            }
            if hit { names.insert(interest) }
        }
        return names.sorted()
    }

    static func triggerDirectives(_ package: DebPackageRecord) -> [(kind: String, name: String)] {
        String(decoding: package.control["triggers"] ?? [], as: UTF8.self).split(separator: "\n").compactMap { line in
            let words = line.split(separator: "#", maxSplits: 1).first?.split(whereSeparator: \.isWhitespace) ?? []
            guard words.count >= 2 else { return nil }
            return (String(words[0]), String(words[1]))
        }
    }

    /// `md5  path` lines for the package's regular files as composed under `root`.
    static func computedMD5Sums(_ package: DebPackageRecord, root: String, md5: (String) throws -> String) throws -> String {
        var lines = [String]()
        for path in package.paths where !path.isEmpty {
            var st = stat()
            let composed = "\(root)/\(mergedUsrPath(path))"
            guard lstat(composed, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            lines.append("\(try md5(composed))  \(path)")
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// Where a package path lands in a tree composed with merged /usr: `bin/sh` is `usr/bin/sh`.
    static func mergedUsrPath(_ path: String) -> String { TreeLayout.mergedUsr.path(path) }

    static func stanza(for package: DebPackageRecord, root: String, md5: (String) throws -> String) throws -> String {
        var lines = package.controlStanza.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let packageLine = lines.firstIndex(where: { $0.hasPrefix("Package:") }) else {
            throw StrataError(.invalidInput, "\(package.name): its control file has no Package field")
        }
        lines.insert("Status: install ok unpacked", at: packageLine + 1)
        let conffiles = package.conffiles
        if !conffiles.isEmpty {
            let sums = package.md5sums
            var field = ["Conffiles:"]
            for path in conffiles {
                let relative = String(path.drop(while: { $0 == "/" }))
                let sum = try sums[relative] ?? md5("\(root)/\(relative)")
                field.append(" \(path) \(sum)")
            }
            let at = lines.firstIndex(where: { $0.hasPrefix("Description:") }) ?? lines.count
            lines.insert(contentsOf: field, at: at)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The file-trigger interests a tree's database has registered (`triggers/File`: `PATH PKG`).
    public static func registeredFileInterests(root: String) throws -> [String] {
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        let text = String(decoding: try tree.read("var/lib/dpkg/triggers/File") ?? [], as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map(String.init).flatMap { $0.hasPrefix("/") ? $0 : nil }
        }
    }

    fileprivate static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        try FileSystem.writeScratch(bytes, to: path)
        chmod(path, mode)
    }
}
