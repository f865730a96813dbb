// Running an rpm transaction's scripts once, after every file is composed, in the order rpm runs
// them for a fresh install (doc/triggers.md, doc/file_triggers.md), each package in libsolv's
// install order: every %pretrans, every %pre, then (the owners the %pre scripts created applied)
// every %post, the classic %triggerin of installed packages on each other, the %filetriggerin of
// each trigger for each package with matching paths (higher priority first, the paths on stdin),
// every %posttrans, and each %transfiletriggerin once with every matching path. `$1` is 1, as for
// an install. Each script runs in the script sandbox (Sandbox.swift) through its interpreter; Lua
// scriptlets run inside the tree's own rpm (`rpm --eval '%{lua: …}'`), or are refused, naming the
// package, when the tree has none. Each script is timed; the slowest are named at the end.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

#if canImport(Glibc)
    import Glibc
#endif

struct RpmScriptlets {
    let packages: [ImportedPackage<RpmControlRecord>]
    let root: String
    let sourceDateEpoch: Int64
    let hasOwnRpm: Bool
    let report: (String) -> Void
    private(set) var timings: [(what: String, seconds: Double)] = []

    init(
        packages: [ImportedPackage<RpmControlRecord>], root: String, sourceDateEpoch: Int64, hasOwnRpm: Bool,
        report: @escaping (String) -> Void
    ) {
        self.packages = packages
        self.root = root
        self.sourceDateEpoch = sourceDateEpoch
        self.hasOwnRpm = hasOwnRpm
        self.report = report
    }

    /// Where scripts and their input are put inside the tree while they run.
    static let scriptPath = "/tmp/strata-scriptlet"
    static let inputPath = "/tmp/strata-scriptlet.stdin"

    /// Runs every script; `afterPre` runs between the %pre scripts and the %post scripts.
    mutating func runAll(afterPre: () throws -> Void) throws {
        try refuseWhatCannotRun()
        report("configure: scriptlets of \(packages.count) packages")
        for package in packages { try run(package, .pretrans) }
        for package in packages { try run(package, .pre) }
        try afterPre()
        for package in packages { try run(package, .post) }
        try runClassicTriggers()
        try runFileTriggers(transaction: false)
        for package in packages { try run(package, .posttrans) }
        try runFileTriggers(transaction: true)
    }

    /// The slowest scripts, as lines for the end of the build.
    func slowest(_ count: Int) -> [String] {
        timings.sorted { $0.seconds > $1.seconds }.prefix(count).filter { $0.seconds >= 0.05 }.map {
            "slow scriptlet: \($0.what) took \(String(format: "%.2f", $0.seconds)) s"
        }
    }

    /// Lua scriptlets need the tree's rpm: say which package before anything ran.
    private func refuseWhatCannotRun() throws {
        guard !hasOwnRpm else { return }
        for package in packages {
            let lua = package.record.header.scriptlets.filter { $0.interpreter.first == "<lua>" }.map { "%\(Self.name($0.kind))" }
                + package.record.header.fileTriggers.filter { $0.interpreter.first == "<lua>" }.map { "%\($0.kind.rawValue)" }
            if let first = lua.first {
                throw StrataError(
                    .invalidInput,
                    "\(package.record.header.nevra): its \(first) scriptlet is Lua, which strata runs only through the "
                        + "tree's own rpm, and the set installs no rpm (add the distribution's rpm package)")
            }
        }
    }

    private mutating func run(_ package: ImportedPackage<RpmControlRecord>, _ kind: RpmScriptlet.Kind) throws {
        guard let script = package.record.header.scriptlets.first(where: { $0.kind == kind }) else { return }
        try execute(
            "\(package.record.header.nevra) %\(Self.name(kind))", interpreter: script.interpreter, body: script.body,
            arguments: ["1"], input: nil)
    }

    /// `%triggerin -- NAME` of an installed package on another installed one, after the %post
    /// scripts: `$1` the trigger package's count, `$2` the triggering one's (both 1).
    private mutating func runClassicTriggers() throws {
        let installed = Set(packages.map(\.name))
        for package in packages {
            for trigger in package.record.header.triggers where trigger.kind == .in {
                guard trigger.conditions.contains(where: { installed.contains($0.name) }) else { continue }
                try execute(
                    "\(package.record.header.nevra) %triggerin", interpreter: trigger.interpreter, body: trigger.body,
                    arguments: ["1", "1"], input: nil)
            }
        }
    }

    private mutating func runFileTriggers(transaction: Bool) throws {
        var triggers = [(owner: ImportedPackage<RpmControlRecord>, trigger: RpmFileTrigger)]()
        for package in packages {
            for trigger in package.record.header.fileTriggers
            where trigger.kind == (transaction ? .transfiletriggerin : .filetriggerin) {
                triggers.append((package, trigger))
            }
        }
        // Higher priority first; the install order among equals.
        triggers = triggers.enumerated().sorted {
            ($0.element.trigger.priority, -$0.offset) > ($1.element.trigger.priority, -$1.offset)
        }.map(\.element)
        for (owner, trigger) in triggers {
            let what = "\(owner.record.header.nevra) %\(trigger.kind.rawValue)"
            if transaction {
                let paths = packages.flatMap { Self.matching($0, trigger.prefixes, byDirectory: true) }
                guard !paths.isEmpty else { continue }
                try execute(what, interpreter: trigger.interpreter, body: trigger.body, arguments: ["1"], input: paths)
            } else {
                for package in packages {
                    let paths = Self.matching(package, trigger.prefixes)
                    guard !paths.isEmpty else { continue }
                    try execute(
                        "\(what) (for \(package.name))", interpreter: trigger.interpreter, body: trigger.body,
                        arguments: ["1", "1"], input: paths)
                }
            }
        }
    }

    /// The installed paths of `package` under any of `prefixes` (every type, directories too; a
    /// ghost is not installed), as rpm matches them: by string prefix. A transaction trigger finds
    /// its paths through the rpmdb's directory index, so there the path's directory (with its
    /// trailing slash) must start with the prefix: the watched directory itself is not handed in.
    static func matching(_ package: ImportedPackage<RpmControlRecord>, _ prefixes: [String], byDirectory: Bool = false)
        -> [String]
    {
        package.record.header.files.filter { file in
            guard !file.flags.contains(.ghost) else { return false }
            let directory = file.path.split(separator: "/").dropLast().map { "/\($0)" }.joined() + "/"
            return prefixes.contains { file.path.hasPrefix($0) && (!byDirectory || directory.hasPrefix($0)) }
        }.map(\.path)
    }

    static func name(_ kind: RpmScriptlet.Kind) -> String {
        switch kind {
        case .pre: "pre"
        case .post: "post"
        case .preun: "preun"
        case .postun: "postun"
        default: kind.rawValue
        }
    }

    /// Runs one script inside the tree.
    private mutating func execute(
        _ what: String, interpreter: [String], body: String?, arguments: [String], input: [String]?
    ) throws {
        let tree = try RootedPath(root: root)
        defer {
            _ = try? tree.remove(String(Self.scriptPath.dropFirst()))
            _ = try? tree.remove(String(Self.inputPath.dropFirst()))
            tree.close()
        }
        var command: String
        if interpreter.first == "<lua>" {
            // rpm hands a Lua scriptlet its arguments as `arg`; the chunk gets them as a local.
            let args = (["<lua>"] + arguments).map { "\"\($0)\"" }.joined(separator: ", ")
            try tree.write(Array("local arg = {\(args)}\n\(body ?? "")".utf8), to: String(Self.scriptPath.dropFirst()))
            command = "exec /usr/bin/rpm --eval " + Sandbox.shellQuote("%{lua: dofile(\"\(Self.scriptPath)\")}")
        } else {
            let program = interpreter.isEmpty ? ["/bin/sh"] : interpreter
            var argv = program
            if let body {
                try tree.write(Array(body.utf8), to: String(Self.scriptPath.dropFirst()))
                argv.append(Self.scriptPath)
            }
            command = "exec " + (argv + arguments).map(Sandbox.shellQuote).joined(separator: " ")
        }
        if let input {
            try tree.write(Array(input.map { $0 + "\n" }.joined().utf8), to: String(Self.inputPath.dropFirst()))
            command += " < \(Self.inputPath)"
        } else {
            command += " < /dev/null"
        }
        report("configure: \(what)")
        let start = ContinuousClock.now
        try Sandbox.run(
            root: root, script: command,
            environment: ["SOURCE_DATE_EPOCH": String(sourceDateEpoch), "SYSTEMD_OFFLINE": "1", "container": "strata"],
            what: what)
        timings.append((what, (ContinuousClock.now - start).seconds))
    }
}
