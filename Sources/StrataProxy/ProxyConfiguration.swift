// What `strata proxy` serves and how: the listening address, the cache directory, the backends
// (named groups of upstream mirrors) and the housekeeping limits. Read from a YAML file, from
// command-line options, and, when neither names a backend, from the host's apt sources.
//
//   listen: 127.0.0.1:3142
//   cache: /var/cache/strata-proxy
//   index-ttl: 60            # seconds an index is served before it is revalidated
//   negative-ttl: 30         # seconds a 404 from upstream is remembered
//   grace: 86400             # seconds an unreferenced package is kept before `clean` removes it
//   max-size: 50G            # `clean` trims the cache to this, least recently used first
//   clean-interval: 21600    # seconds between the server's own cleanups (0: never)
//   access-log: /var/log/strata-proxy.log   # or "-" (stderr) or "off"
//   upstream-ca: /etc/ssl/certs/extra.pem   # extra trust root for HTTPS upstreams
//   backends:
//     debian: [https://mirror-a.example/debian, http://mirror-b.example/debian]
import Foundation
import StrataCore
import StrataDeb
import Yams

/// One upstream base URL, split so that requests can be matched against it quickly.
public struct Upstream: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// The host, lowercased, without brackets.
    public let host: String
    /// The port, explicit or the scheme's default.
    public let port: Int
    /// The base path without a trailing slash (`/debian`, or empty for a host root).
    public let basePath: String

    /// Parses `http(s)://host[:port][/path]`.
    /// - Throws: ``StrataError`` `.invalidInput` naming the text.
    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty,
            components.query == nil, components.fragment == nil
        else {
            throw StrataError(.invalidInput, "not an upstream URL: '\(text)' (expected http(s)://HOST[:PORT][/PATH])")
        }
        self.scheme = scheme
        self.host = host
        port = components.port ?? (scheme == "https" ? 443 : 80)
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
    }

    /// The authority as it appears in a URL (`host` or `host:port` for a non-default port).
    var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == (scheme == "https" ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
    }

    /// The URL of `relative` (already validated, no leading slash) on this upstream.
    func url(for relative: String) -> String { "\(scheme)://\(authority)\(basePath)/\(relative)" }

    public var description: String { "\(scheme)://\(authority)\(basePath)" }
}

/// A named group of mirrors of one repository; the first that answers is used.
public struct Backend: Sendable, Hashable {
    /// The first path segment of path-mapped requests (`/debian/dists/…`).
    public let name: String
    /// The mirrors, in order of preference.
    public let upstreams: [Upstream]

    public init(name: String, upstreams: [Upstream]) throws {
        guard Self.isValidName(name) else {
            throw StrataError(
                .invalidInput, "backend name '\(name)': use letters, digits, '.', '_' and '-' (it becomes a URL path)")
        }
        guard !upstreams.isEmpty else { throw StrataError(.invalidInput, "backend '\(name)' names no upstream URL") }
        self.name = name
        self.upstreams = upstreams
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && name != "_strata" && name != "metrics"
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == 0x2d || byte == 0x2e || byte == 0x5f
            }
    }
}

/// Everything the server and `strata proxy clean` need to know.
public struct ProxyConfiguration: Sendable {
    public var listenHost = "127.0.0.1"
    public var listenPort = 3142
    public var cacheDirectory = "/var/cache/strata-proxy"
    public var backends: [Backend] = []
    /// How long an index is served from the cache before a request revalidates it.
    public var indexTTL: Duration = .seconds(60)
    /// How long an upstream 404 is answered from memory.
    public var negativeTTL: Duration = .seconds(30)
    /// How long a package no cached index names is kept (measured from its last use).
    public var grace: Duration = .seconds(86_400)
    /// The size `clean` trims the cache to; `nil` for no limit.
    public var maxSize: UInt64?
    /// How often the server cleans by itself; `nil` for never.
    public var cleanInterval: Duration? = .seconds(6 * 3600)
    /// Where the access log goes: a path, `-` for stderr, `nil` for none.
    public var accessLog: String? = "-"
    /// An extra PEM trust root for HTTPS upstreams.
    public var upstreamCA: String?
    /// How long one upstream transfer may wait for data before it fails.
    public var upstreamTimeout: Duration = .seconds(60)
    /// A client connection that sends nothing for this long while no response is under way is closed.
    public var clientIdleTimeout: Duration = .seconds(120)
    /// A request's head and body must arrive within this, from the moment the proxy waits for them
    /// (a slowloris client sending a byte at a time is closed after it).
    public var requestTimeout: Duration = .seconds(20)
    /// A client that reads nothing of its response for this long is dropped by the kernel
    /// (TCP_USER_TIMEOUT, which also covers a zero receive window).
    public var stalledClientTimeout: Duration = .seconds(120)
    /// Client connections at most; `nil`: the descriptor limit less ``descriptorReserve``. Past it
    /// a new connection is closed at once, so that descriptors remain for cached files and upstreams.
    public var maxConnections: Int?
    /// Descriptors kept for opening cached files, upstream connections and records.
    public var descriptorReserve = 256
    /// How long a client waits for the revalidation of a stale index before it gets the cached
    /// copy (marked stale): a slow upstream does not stall an index's readers.
    public var revalidationWait: Duration = .seconds(5)
    /// Event loops serving clients.
    public var eventLoops = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    /// The listening address as `host:port`.
    public var listenAddress: String { "\(listenHost):\(listenPort)" }

    /// Sets ``listenHost`` and ``listenPort`` from `HOST:PORT` (`[::1]:3142` for IPv6).
    public mutating func setListen(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw StrataError(.invalidInput, "--listen '\(text)': expected HOST:PORT (127.0.0.1:3142)") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw StrataError(.invalidInput, "--listen '\(text)': no host") }
        listenHost = host
        listenPort = port
    }

    /// Adds (or extends) a backend from `NAME=URL[,URL…]`.
    public mutating func addBackend(_ text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw StrataError(.invalidInput, "--backend '\(text)': expected NAME=URL[,URL...]")
        }
        let name = String(text[..<equals])
        let urls = text[text.index(after: equals)...].split(separator: ",").map(String.init)
        try addBackend(name: name, urls: urls)
    }

    mutating func addBackend(name: String, urls: [String]) throws {
        let upstreams = try urls.map(Upstream.init)
        if let index = backends.firstIndex(where: { $0.name == name }) {
            backends[index] = try Backend(name: name, upstreams: backends[index].upstreams + upstreams)
        } else {
            backends.append(try Backend(name: name, upstreams: upstreams))
        }
    }

    /// Adds one backend per distinct repository the host's apt configuration names, named after
    /// the URL's last path segment (`debian`, `debian-security`), made unique with a number.
    public mutating func addHostAptSources(root: String = "") {
        var seen = Set(backends.flatMap(\.upstreams))
        for entry in HostAptSources.entries(root: root) {
            guard let upstream = try? Upstream(entry.uri), !seen.contains(upstream) else { continue }
            seen.insert(upstream)
            let last = upstream.basePath.split(separator: "/").last.map(String.init) ?? upstream.host
            var name = Backend.isValidName(last) ? last : "apt"
            var number = 2
            while backends.contains(where: { $0.name == name }) {
                name = "\(last)-\(number)"
                number += 1
            }
            if let backend = try? Backend(name: name, upstreams: [upstream]) { backends.append(backend) }
        }
    }

    /// Reads a YAML configuration file over the defaults.
    /// - Throws: ``StrataError`` `.invalidInput` naming the file and the key.
    public mutating func load(file path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw StrataError(.notFound, "cannot read proxy configuration \(path): \(StrataError.reason(of: error))")
        }
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw StrataError(.invalidInput, "\(path): not valid YAML: \(error)")
        }
        guard let map = root as? [String: Any] else {
            throw StrataError(.invalidInput, "\(path): expected a mapping of settings at the top level")
        }
        func fail(_ key: String, _ expected: String) -> StrataError {
            StrataError(.invalidInput, "\(path): '\(key)': expected \(expected)")
        }
        for (key, value) in map.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "listen":
                guard let text = value as? String, (try? setListen(text)) != nil else { throw fail(key, "HOST:PORT") }
            case "cache":
                guard let text = value as? String else { throw fail(key, "a directory") }
                cacheDirectory = text
            case "request-timeout", "stalled-client-timeout", "client-idle-timeout", "upstream-timeout", "revalidation-wait":
                guard let seconds = Self.seconds(value), seconds > .zero else { throw fail(key, "seconds, or 30s, 10m") }
                switch key {
                case "request-timeout": requestTimeout = seconds
                case "stalled-client-timeout": stalledClientTimeout = seconds
                case "client-idle-timeout": clientIdleTimeout = seconds
                case "revalidation-wait": revalidationWait = seconds
                default: upstreamTimeout = seconds
                }
            case "max-connections":
                guard let count = value as? Int, count > 0 else { throw fail(key, "a number of connections") }
                maxConnections = count
            case "index-ttl", "negative-ttl", "grace", "clean-interval":
                guard let seconds = Self.seconds(value) else { throw fail(key, "seconds, or 30s, 10m, 6h, 1d") }
                switch key {
                case "index-ttl": indexTTL = seconds
                case "negative-ttl": negativeTTL = seconds
                case "grace": grace = seconds
                default: cleanInterval = seconds == .zero ? nil : seconds
                }
            case "max-size":
                guard let size = Self.size(value) else { throw fail(key, "a size (500M, 50G) or bytes") }
                maxSize = size
            case "access-log":
                guard let text = value as? String else { throw fail(key, "a path, '-' or 'off'") }
                accessLog = text == "off" ? nil : text
            case "upstream-ca":
                guard let text = value as? String else { throw fail(key, "a PEM file") }
                upstreamCA = text
            case "backends":
                guard let backendMap = value as? [String: Any] else { throw fail(key, "a mapping NAME: [URL, ...]") }
                for (name, urls) in backendMap.sorted(by: { $0.key < $1.key }) {
                    let list = (urls as? [Any])?.compactMap { $0 as? String } ?? (urls as? String).map { [$0] }
                    guard let list, !list.isEmpty else { throw fail("backends.\(name)", "a URL or a list of URLs") }
                    do {
                        try addBackend(name: name, urls: list)
                    } catch let error as StrataError {
                        throw StrataError(.invalidInput, "\(path): backends.\(name): \(error.message)")
                    }
                }
            default:
                throw StrataError(.invalidInput, "\(path): unknown setting '\(key)'")
            }
        }
    }

    /// `90`, `90s`, `10m`, `6h`, `1d`.
    public static func seconds(_ value: Any) -> Duration? {
        if let number = value as? Int, number >= 0 { return .seconds(number) }
        guard let text = value as? String, let last = text.last else { return nil }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = units[last], let number = Int(text.dropLast()), number >= 0 { return .seconds(number * unit) }
        if let number = Int(text), number >= 0 { return .seconds(number) }
        return nil
    }

    /// `1048576`, `500M`, `50G`, `2T` (powers of 1024).
    public static func size(_ value: Any) -> UInt64? {
        if let number = value as? Int, number >= 0 { return UInt64(number) }
        guard let text = (value as? String)?.uppercased(), let last = text.last else { return nil }
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let unit = units[last], let number = UInt64(text.dropLast()) { return number * unit }
        return UInt64(text)
    }
}
