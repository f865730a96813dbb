// Configure: the maintainer scripts of a composed Debian tree run once, inside the tree, with the
// tree's own dpkg. Files are already in place and the database says "unpacked", so what remains
// of an installation is: every preinst (`install`) in dependency order, as dpkg would run it from
// /var/lib/dpkg/tmp.ci with the package's control members beside it; `dpkg --configure -a` (postinsts
// in dependency order); then the triggers that unpacking would have activated (composing skipped
// it), processed with `dpkg --triggers-only -a`. Services are kept from starting by
// /usr/sbin/policy-rc.d (exit 101), removed afterwards; debconf runs non-interactively.
import Foundation
import StrataCore
import StrataPackaging
import StrataStore

public enum DebConfigurer {
    static let policyRcD = "usr/sbin/policy-rc.d"

    /// Runs the scripts of `packages` inside `root`.
    /// - Parameter sourceDateEpoch: passed to the scripts, so tools that honour it stamp files reproducibly.
    /// - Throws: ``StrataError`` `.toolFailed` naming the step (the package for a preinst) with the
    ///   scripts' last lines of output.
    /// - Parameter afterPreinsts: runs between the preinsts and `dpkg --configure -a` (the build
    ///   repairs there what preinst diversions did to composed files).
    /// - Parameter removing: a layer's removals (a base's installed packages), purged with the
    ///   tree's dpkg (prerm, postrm) before anything else runs. Given, or with `onBase`, the
    ///   packages are a layer's additions over an installed base: the base's registered file
    ///   triggers are set off by their paths too.
    public static func configure(
        root: String, packages: [DebPackageRecord], removing: [String] = [], onBase: Bool = false, sourceDateEpoch: Int64,
        report: (String) -> Void = { _ in }, afterPreinsts: () throws -> Void = {}
    ) throws {
        // A package's own policy-rc.d is moved aside while the scripts run and put back after.
        try FileSystem.requireRealDirectories("var/lib/dpkg", in: root)
        let tree = try RootedPath(root: root)
        defer { tree.close() }
        let (sbin, leaf) = try tree.openParent(of: policyRcD)
        defer { close(sbin) }
        let aside = "\(leaf).strata-aside"
        let hadOwn = renameat(sbin, leaf, sbin, aside) == 0
        try tree.write(Array("#!/bin/sh\nexit 101\n".utf8), to: policyRcD, mode: 0o755)
        defer {
            unlinkat(sbin, leaf, 0)
            if hadOwn { renameat(sbin, aside, sbin, leaf) }
        }

        let layered = onBase || !removing.isEmpty
        let dpkgVersion = packages.first { $0.name == "dpkg" }.flatMap { package in
            (try? Deb822.parse(package.controlStanza, what: "dpkg"))?.first?["Version"]
        } ?? (layered ? installedVersion(of: "dpkg", root: root) : nil) ?? ""
        let environment = [
            "DEBIAN_FRONTEND": "noninteractive", "DEBCONF_NONINTERACTIVE_SEEN": "true",
            "SOURCE_DATE_EPOCH": String(sourceDateEpoch), "DPKG_ADMINDIR": "/var/lib/dpkg", "DPKG_ROOT": "",
            "DPKG_RUNNING_VERSION": dpkgVersion,
        ]
        if !removing.isEmpty {
            let names = removing.map(Sandbox.shellQuote).joined(separator: " ")
            try run("dpkg --purge \(names)", environment, what: "dpkg --purge", saying: "dpkg --purge \(removing.joined(separator: " "))", report)
        }
        // Every preinst in one chroot: each package's control members are staged under
        // strata-preinst/NNNN/ and copied to tmp.ci in turn, as dpkg leaves them for its preinst.
        let stagingRoot = "\(root)/var/lib/dpkg/strata-preinst"
        try? FileManager.default.removeItem(atPath: stagingRoot)
        var count = 0
        for package in DebInstallOrder.order(packages) where package.control["preinst"] != nil {
            let staging = "\(stagingRoot)/\(String(format: "%04d", count))"
            count += 1
            for (member, bytes) in package.control {
                try FileSystem.writeScratch(bytes, to: "\(staging)/\(member)")
            }
            chmod("\(staging)/preinst", 0o755)
            let env = [
                "DPKG_MAINTSCRIPT_PACKAGE=\(Sandbox.shellQuote(package.name))",
                "DPKG_MAINTSCRIPT_ARCH=\(Sandbox.shellQuote(package.architecture))",
                "DPKG_MAINTSCRIPT_NAME=preinst", "DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1",
            ]
            try FileSystem.writeScratch(Array((env.joined(separator: "\n") + "\n").utf8), to: "\(staging)/.strata-env")
        }
        if count > 0 {
            let script = """
                admin=/var/lib/dpkg
                for staged in $admin/strata-preinst/*; do
                    rm -rf $admin/tmp.ci
                    cp -a "$staged" $admin/tmp.ci
                    set -a; . $admin/tmp.ci/.strata-env; set +a
                    rm -f $admin/tmp.ci/.strata-env
                    echo "strata: running the preinst of $DPKG_MAINTSCRIPT_PACKAGE"
                    $admin/tmp.ci/preinst install || { echo "strata: the preinst of $DPKG_MAINTSCRIPT_PACKAGE failed"; exit 1; }
                done
                rm -rf $admin/tmp.ci $admin/strata-preinst
                """
            try run(script, environment, what: "the preinsts", saying: "the preinsts of \(count) packages", report)
        }
        try afterPreinsts()
        try run("dpkg --configure -a", environment, what: "dpkg --configure -a", saying: "dpkg --configure -a", report)
        let activations = DpkgDatabase.pendingActivations(
            packages, interests: layered ? try DpkgDatabase.registeredFileInterests(root: root) : [])
        if !activations.isEmpty {
            let script = activations.map { "dpkg-trigger --no-await \(Sandbox.shellQuote($0))" }.joined(separator: "\n")
                + "\ndpkg --triggers-only -a"
            try run(script, environment, what: "processing triggers", saying: "\(activations.count) triggers", report)
        }

        /// One step in the sandbox, said with its time (`configure: dpkg --configure -a, 1.70 s`).
        func run(
            _ script: String, _ environment: [String: String], what: String, saying label: String,
            _ report: (String) -> Void
        ) throws {
            let start = ContinuousClock.now
            try explainingFailure { try Sandbox.run(root: root, script: script, environment: environment, what: what) }
            report("configure: \(label), \(String(format: "%.2f s", (ContinuousClock.now - start).seconds))")
        }
    }

    /// The version of `name` the tree's dpkg status file records, read rooted.
    static func installedVersion(of name: String, root: String) -> String? {
        guard let tree = try? RootedPath(root: root) else { return nil }
        defer { tree.close() }
        guard let bytes = try? tree.read("var/lib/dpkg/status", limit: 256 << 20),
            let stanzas = try? Deb822.parse(String(decoding: bytes, as: UTF8.self), what: "var/lib/dpkg/status")
        else { return nil }
        return stanzas.first { $0["Package"] == name }?["Version"]
    }

    /// Runs `body`; a script failure is said as the package and script that failed, with that
    /// script's own output, instead of the step's last lines (the whole output stays the cause).
    static func explainingFailure(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as StrataError {
            guard let output = error.cause as? ScriptOutput, let failure = ScriptFailure(output.text) else { throw error }
            throw StrataError(.toolFailed, failure.description, cause: output)
        }
    }
}

/// What dpkg's output, or strata's preinst loop, says about the first script that failed:
/// `dpkg: error processing package NAME (--configure):` and the line after it, with what the
/// package printed since `Setting up NAME`; or `strata: the preinst of NAME failed` with what it
/// printed since `strata: running the preinst of NAME`.
public struct ScriptFailure: Sendable, Equatable, CustomStringConvertible {
    public var package: String
    public var script: String
    /// dpkg's own words for the failure (`… post-installation script subprocess returned error exit status 1`).
    public var reason: String
    /// The lines the package's script printed, at most the last 40.
    public var output: [String]

    public init?(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let index = lines.firstIndex(where: { $0.hasPrefix("dpkg: error processing package ") }) {
            let rest = lines[index].dropFirst("dpkg: error processing package ".count)
            let name = String(rest.prefix { $0 != " " })
            package = name
            reason = index + 1 < lines.count ? lines[index + 1].trimmingCharacters(in: .whitespaces) : ""
            script = reason.contains("pre-installation") ? "preinst"
                : reason.contains("post-installation") ? "postinst"
                : reason.contains("pre-removal") ? "prerm" : reason.contains("post-removal") ? "postrm" : "maintainer script"
            let start = lines[..<index].lastIndex { $0.hasPrefix("Setting up \(name) ") || $0.hasPrefix("Setting up \(name):") }
            output = Array(lines[(start.map { $0 + 1 } ?? max(0, index - 40))..<index].suffix(40))
            return
        }
        if let index = lines.firstIndex(where: { $0.hasPrefix("strata: the preinst of ") && $0.hasSuffix(" failed") }) {
            let name = String(lines[index].dropFirst("strata: the preinst of ".count).dropLast(" failed".count))
            package = name
            script = "preinst"
            reason = "the preinst (install) exited non-zero"
            let start = lines[..<index].lastIndex { $0 == "strata: running the preinst of \(name)" }
            output = Array(lines[(start.map { $0 + 1 } ?? max(0, index - 40))..<index].suffix(40))
            return
        }
        return nil
    }

    public var description: String {
        let shown = output.isEmpty ? "  (it printed nothing)" : output.map { "  | \($0)" }.joined(separator: "\n")
        return "the \(script) of \(package) failed: \(reason)\nits output:\n\(shown)"
    }
}
