import ArgumentParser
import Foundation
import StrataBuild
import StrataCore
import StrataPackaging

extension Strata {
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a template's package set and print it, or explain why a package is in it.")

        @OptionGroup var template: TemplateOptions
        @OptionGroup var storeOptions: StoreOptions

        @Option(help: "Print the chain of dependencies that brings this package in.")
        var why: String?

        @Flag(name: .shortAndLong, help: "Print no warnings (errors and the result are still printed).")
        var quiet = false

        func run() async throws {
            try await reportingErrors(quiet: quiet) {
                let spec = try template.load()
                try Planner.refuseApplication(spec)
                let resolution = try await storeOptions.planner().resolve(spec, why: why)
                if let chain = resolution.why {
                    chain.forEach { print($0) }
                    return
                }
                for package in resolution.lockfile.packages {
                    print("\(package.name) \(package.version) \(package.architecture) \(package.repository)")
                }
            }
        }
    }
}
