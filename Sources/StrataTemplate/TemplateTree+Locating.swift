import Foundation
import StrataCore

extension TemplateTree {
    /// The environment variable that names a template tree when `--templates` is not given.
    public static let environmentVariable = "STRATA_TEMPLATES"
    /// Where packages install the shipped tree.
    public static let systemRoot = "/usr/share/strata/templates"

    /// Finds the template tree to use.
    ///
    /// In order, the first that applies:
    /// 1. `explicit` (the CLI's `--templates DIR`), as given, even if it does not exist, so that
    ///    the error names it;
    /// 2. `$STRATA_TEMPLATES` when set and not empty, likewise;
    /// 3. for each ancestor of the running executable's directory, nearest first: `A/templates`,
    ///    then `A/share/strata/templates` (a checkout's `.build/debug/strata` finds the
    ///    repository's `templates/`; `/usr/local/bin/strata` finds `/usr/local/share/…`);
    /// 4. `templates/` in the current directory;
    /// 5. ``systemRoot``, `/usr/share/strata/templates` (also the answer when nothing exists).
    /// - Parameter explicit: the `--templates` option, if given.
    /// - Returns: the tree's directory.
    public static func defaultRoot(explicit: String?) -> String {
        defaultRoot(
            explicit: explicit, environment: ProcessInfo.processInfo.environment,
            executable: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments.first,
            currentDirectory: FileManager.default.currentDirectoryPath)
    }

    /// ``defaultRoot(explicit:)``, but a tree that does not exist is an error saying where strata
    /// looked and how to point it at a tree, rather than an "unknown target" in a directory that
    /// is not there.
    /// - Parameter explicit: the `--templates` option, if given.
    /// - Returns: the tree's directory, which exists.
    /// - Throws: ``StrataError`` `.notFound`.
    public static func existingRoot(explicit: String?) throws -> String {
        try existingRoot(
            explicit: explicit, environment: ProcessInfo.processInfo.environment,
            executable: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments.first,
            currentDirectory: FileManager.default.currentDirectoryPath)
    }

    /// ``existingRoot(explicit:)`` with its inputs given, for tests.
    static func existingRoot(
        explicit: String?, environment: [String: String], executable: String?, currentDirectory: String
    ) throws -> String {
        let root = defaultRoot(
            explicit: explicit, environment: environment, executable: executable, currentDirectory: currentDirectory)
        if TemplateTarget.isDirectory(root) { return root }
        if let explicit, !explicit.isEmpty {
            throw StrataError(.notFound, "--templates \(explicit): no such directory")
        }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            throw StrataError(.notFound, "$\(environmentVariable)=\(fromEnvironment): no such directory")
        }
        let searched = candidates(executable: executable, currentDirectory: currentDirectory) + [systemRoot]
        throw StrataError(
            .notFound,
            "no template tree found; looked in \(searched.joined(separator: ", ")); "
                + "name one with --templates DIR or $\(environmentVariable)")
    }

    /// ``defaultRoot(explicit:)`` with its inputs given, for tests.
    static func defaultRoot(
        explicit: String?, environment: [String: String], executable: String?, currentDirectory: String
    ) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty { return fromEnvironment }
        return candidates(executable: executable, currentDirectory: currentDirectory).first(where: TemplateTarget.isDirectory)
            ?? systemRoot
    }

    /// The directories searched when neither `--templates` nor the environment names a tree.
    static func candidates(executable: String?, currentDirectory: String) -> [String] {
        var candidates: [String] = []
        if let executable, executable.hasPrefix("/") {
            var directory = (executable as NSString).deletingLastPathComponent
            while true {
                candidates.append("\(directory == "/" ? "" : directory)/templates")
                candidates.append("\(directory == "/" ? "" : directory)/share/strata/templates")
                if directory == "/" || directory.isEmpty { break }
                directory = (directory as NSString).deletingLastPathComponent
            }
        }
        candidates.append("\(currentDirectory)/templates")
        return candidates
    }
}
