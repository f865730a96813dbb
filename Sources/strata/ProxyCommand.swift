import ArgumentParser
import Foundation
import StrataCore
import StrataProxy

extension Strata {
    struct Proxy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A caching proxy for apt and dnf repositories (forward proxy and path-mapped mirror).",
            discussion: """
                Clients use it as an HTTP proxy (apt: Acquire::http::Proxy "http://HOST:3142"; dnf: proxy=; \
                http_proxy=) or as a mirror by path: http://HOST:3142/BACKEND/dists/... Only configured \
                upstreams are fetched; without --backend or a config file, the repositories of this host's \
                apt sources are the backends. /metrics (Prometheus) and /_strata/ (status page) report figures. \
                `strata proxy` runs `strata proxy serve`; its options: `strata proxy serve --help`. See docs/proxy.md.
                """,
            subcommands: [Serve.self, Clean.self], defaultSubcommand: Serve.self)
    }
}

/// Options shared by `strata proxy` and `strata proxy clean`.
struct ProxyOptions: ParsableArguments {
    @Option(name: .long, help: "A YAML configuration file (see docs/proxy.md).")
    var config: String?

    @Option(name: .long, help: "The cache directory (default /var/cache/strata-proxy).")
    var cache: String?

    @Option(name: .long, help: "A backend: NAME=URL[,URL...] (mirrors in order of preference); repeatable.")
    var backend: [String] = []

    @Option(name: .long, help: "Seconds an index is served before it is revalidated upstream (default 60).")
    var indexTTL: Int?

    @Option(name: .long, help: "Keep packages no cached index names for this long after last use: 3600, 12h, 7d (default 1d).")
    var grace: String?

    @Option(name: .long, help: "Trim the cache to this size, least recently used first: 500M, 50G.")
    var maxSize: String?

    func configuration() throws -> ProxyConfiguration {
        var configuration = ProxyConfiguration()
        if let config { try configuration.load(file: config) }
        if let cache { configuration.cacheDirectory = cache }
        for text in backend { try configuration.addBackend(text) }
        if let indexTTL {
            guard indexTTL >= 0 else { throw StrataError(.invalidInput, "--index-ttl must not be negative") }
            configuration.indexTTL = .seconds(indexTTL)
        }
        if let grace {
            guard let seconds = ProxyConfiguration.seconds(grace) else {
                throw StrataError(.invalidInput, "--grace '\(grace)': expected seconds or 30m, 12h, 7d")
            }
            configuration.grace = seconds
        }
        if let maxSize {
            guard let size = ProxyConfiguration.size(maxSize) else {
                throw StrataError(.invalidInput, "--max-size '\(maxSize)': expected a size such as 500M or 50G")
            }
            configuration.maxSize = size
        }
        if configuration.backends.isEmpty { configuration.addHostAptSources() }
        return configuration
    }
}

extension Strata.Proxy {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "Run the proxy in the foreground until SIGINT or SIGTERM (the default).")

        @OptionGroup var options: ProxyOptions

        @Option(name: .long, help: "The address to listen on (default 127.0.0.1:3142).")
        var listen: String?

        @Option(name: .long, help: "The access log: a file, '-' for stderr, or 'off' (default '-').")
        var accessLog: String?

        @Option(name: .long, help: "A PEM file of extra trust roots for HTTPS upstreams.")
        var upstreamCA: String?

        func run() async throws {
            try await reportingErrors {
                var configuration = try options.configuration()
                if let listen { try configuration.setListen(listen) }
                if let accessLog { configuration.accessLog = accessLog == "off" ? nil : accessLog }
                if let upstreamCA { configuration.upstreamCA = upstreamCA }
                let server = try await ProxyServer.start(configuration: configuration)
                let backends = configuration.backends.map { "\($0.name)=\($0.upstreams.map(\.description).joined(separator: ","))" }
                FileHandle.standardError.write(
                    Data(
                        "strata proxy: listening on \(configuration.listenHost):\(server.port), cache \(configuration.cacheDirectory), \(server.service.cache.count) cached files; backends: \(backends.joined(separator: " "))\n"
                            .utf8))
                await server.runUntilSignalled()
                FileHandle.standardError.write(Data("strata proxy: stopped\n".utf8))
            }
        }
    }

    struct Clean: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove packages no cached index names (after --grace) and trim to --max-size.")

        @OptionGroup var options: ProxyOptions

        func run() async throws {
            try await reportingErrors {
                let configuration = try options.configuration()
                guard ProxyCache.exists(at: configuration.cacheDirectory) else {
                    throw StrataError(
                        .notFound,
                        "no proxy cache at \(configuration.cacheDirectory) (nothing has been cached there; --cache or the configuration's cache: names it)"
                    )
                }
                let cache = try ProxyCache(root: configuration.cacheDirectory)
                let report = try ProxyCleaner(cache: cache, configuration: configuration).clean()
                print("strata proxy clean: \(report.summary)")
            }
        }
    }
}
