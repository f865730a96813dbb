import ArgumentParser
import StrataCore

@main
struct Strata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Container OS templates from distribution packages: locked, reproducible, fast.",
        version: StrataVersion.string,
        subcommands: [Lock.self, Resolve.self, Build.self, Layer.self, Status.self, Upgrade.self, Export.self, List.self, Show.self, Remove.self, GC.self, Fsck.self, Proxy.self])
}
