// From a request line to what the proxy does with it. The request path never becomes a file
// path: a cached file is found by the hash of its key (`backend/relative-path`), so traversal
// can reach nothing on disk; it is refused anyway, before anything else happens, so that no
// upstream is ever asked for `..`.
import NIOHTTP1

/// A file on a backend: the unit the cache stores and the upstream is asked for.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// The backend's index in the configuration.
    public let backend: Int
    /// The decoded path below the backend's base, without a leading slash (`dists/stable/InRelease`).
    public let path: String
    /// `backend-name/path`; what the cache files are named by.
    public let text: String

    init(backend: Int, name: String, path: String) {
        self.backend = backend
        self.path = path
        text = "\(name)/\(path)"
    }

    /// `text` as a map key: its exact bytes (ExactString.swift).
    var exact: ExactString { ExactString(text) }

    public static func == (lhs: CacheKey, rhs: CacheKey) -> Bool { lhs.backend == rhs.backend && lhs.text.sameBytes(as: rhs.text) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(backend)
        hasher.combine(exact)
    }

    public var description: String { text }
}

/// What a request asks for.
enum Route: Equatable {
    /// A repository file, with the mirror the client named first (forward-proxy form).
    case file(CacheKey, preferredUpstream: Int?)
    case metrics
    case status
    /// Answer with this status and reason; nothing is fetched.
    case refuse(HTTPResponseStatus, String)
}

/// Whether a cached file can change upstream.
enum ContentClass: Sendable, Equatable {
    /// Never revalidated: packages, by-hash files, checksum-named rpm-md files.
    case immutable
    /// Revalidated at most once per index-ttl: InRelease, Packages, repomd.xml, and anything unknown.
    case index
}

struct RequestRouter: Sendable {
    let backends: [Backend]

    /// Maps a request to a route. Only GET and HEAD are served.
    func route(method: HTTPMethod, uri: String) -> Route {
        if method == .CONNECT {
            return .refuse(.methodNotAllowed, "CONNECT is not supported: strata proxies http:// repository URLs only")
        }
        guard method == .GET || method == .HEAD else {
            return .refuse(.methodNotAllowed, "\(method.rawValue) is not supported (GET and HEAD only)")
        }
        if uri.hasPrefix("/") { return routeOrigin(uri) }
        return routeAbsolute(uri)
    }

    private func routeOrigin(_ uri: String) -> Route {
        if uri == "/metrics" { return .metrics }
        if uri == "/" || uri == "/_strata" || uri.hasPrefix("/_strata/") { return .status }
        let segments: [String]
        switch Self.segments(of: uri) {
        case .failure(let refusal): return .refuse(refusal.status, refusal.reason)
        case .success(let value): segments = value
        }
        guard let first = segments.first, let index = backends.firstIndex(where: { $0.name.sameBytes(as: first) }) else {
            // apt-cacher-ng's form, /HOST[:PORT]/PATH, which `strata build --proxy` sends too.
            if let first = segments.first, first.containsByte(UInt8(ascii: ".")) || first.containsByte(UInt8(ascii: ":")),
                segments.count > 1
            {
                // The segments are decoded already: encode the path again so it is decoded once.
                return routeAbsolute("http://\(first)/" + Self.encode(segments.dropFirst().joined(separator: "/")))
            }
            return .refuse(.notFound, "no backend named '\(segments.first ?? "")' (path-mapped requests are /BACKEND/PATH)")
        }
        guard segments.count > 1 else { return .refuse(.notFound, "a backend's root is not a file") }
        let path = segments.dropFirst().joined(separator: "/")
        return .file(CacheKey(backend: index, name: first, path: path), preferredUpstream: nil)
    }

    private func routeAbsolute(_ uri: String) -> Route {
        let lower = uri.lowercased()
        guard lower.hasPrefix("http://") else {
            if lower.hasPrefix("https://") {
                return .refuse(.badRequest, "https:// URLs cannot be cached through a plain proxy; use http:// (strata fetches https upstreams itself)")
            }
            return .refuse(.badRequest, "request target is neither a path nor an http:// URL")
        }
        // By bytes: a `/` followed by a combining mark is one Character that is not `/`.
        let rest = uri.utf8.dropFirst("http://".count)
        let slash = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        let authority = String(decoding: rest[..<slash], as: UTF8.self).lowercased()
        let target = slash == rest.endIndex ? "/" : String(decoding: rest[slash...], as: UTF8.self)
        guard let (host, port) = Self.split(authority: authority) else {
            return .refuse(.badRequest, "bad host in request target")
        }
        let segments: [String]
        switch Self.segments(of: target) {
        case .failure(let refusal): return .refuse(refusal.status, refusal.reason)
        case .success(let value): segments = value
        }
        let path = "/" + segments.joined(separator: "/")
        // The longest base path of a configured upstream on that host wins; hosts and base paths
        // compare by bytes, and the base is cut off by its byte length.
        var best: (backend: Int, upstream: Int, baseLength: Int)?
        for (backendIndex, backend) in backends.enumerated() {
            for (upstreamIndex, upstream) in backend.upstreams.enumerated() {
                let baseLength = upstream.basePath.utf8.count
                guard upstream.host.sameBytes(as: host),
                    upstream.port == port || (port == 80 && upstream.scheme == "https" && upstream.port == 443),
                    upstream.basePath.isEmpty || path.hasBytePrefix(upstream.basePath + "/"),
                    baseLength >= (best?.baseLength ?? -1)
                else { continue }
                if let current = best, current.baseLength == baseLength { continue }
                best = (backendIndex, upstreamIndex, baseLength)
            }
        }
        guard let best else {
            return .refuse(.forbidden, "\(host):\(port) is not a configured upstream (strata is not an open proxy)")
        }
        let relative = String(decoding: path.utf8.dropFirst(best.baseLength + 1), as: UTF8.self)
        guard !relative.isEmpty else { return .refuse(.notFound, "a repository's root is not a file") }
        let name = backends[best.backend].name
        return .file(CacheKey(backend: best.backend, name: name, path: relative), preferredUpstream: best.upstream)
    }

    /// The decoded, non-empty path segments; `..`, `.`, NUL, backslashes, bad escapes and query
    /// strings are refused. Empty segments (`//`) are dropped, as mirrors treat them. Every check
    /// is on bytes: Swift's character comparisons would let `%2F` + a combining mark pass as
    /// "not a slash" and `..` + one as "not `..`", while the upstream decodes them to `../`.
    static func segments(of target: String) -> Result<[String], RouteRefusal> {
        guard !target.containsByte(UInt8(ascii: "?")), !target.containsByte(UInt8(ascii: "#")) else {
            return .failure(RouteRefusal(.badRequest, "query strings and fragments are not served"))
        }
        var out: [String] = []
        for raw in target.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            guard let segment = percentDecode(Substring(decoding: raw, as: UTF8.self)) else {
                return .failure(RouteRefusal(.badRequest, "bad percent-encoding in path"))
            }
            let bytes = segment.utf8
            if bytes.elementsEqual(".".utf8) || bytes.elementsEqual("..".utf8) || bytes.contains(UInt8(ascii: "/")) {
                return .failure(RouteRefusal(.badRequest, "path traversal refused"))
            }
            if segment.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == 0x5c }) {
                return .failure(RouteRefusal(.badRequest, "control characters or backslashes in path refused"))
            }
            out.append(segment)
        }
        guard out.count <= 64, out.reduce(0, { $0 + $1.utf8.count }) <= 2048 else {
            return .failure(RouteRefusal(.uriTooLong, "path too long"))
        }
        return .success(out)
    }

    /// `%XX`-decodes one segment; `nil` for a malformed escape or invalid UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// Splits `host[:port]` or `[v6]:port`; the port defaults to 80.
    static func split(authority: String) -> (String, Int)? {
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { return (host, 80) }
            guard after.hasPrefix(":"), let port = decimal(after.dropFirst()), (1...65535).contains(port) else {
                return nil
            }
            return (host, port)
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { return nil }
        if parts.count == 1 { return (String(parts[0]), 80) }
        guard let port = decimal(parts[1]), (1...65535).contains(port) else { return nil }
        return (String(parts[0]), port)
    }

    /// A port is ASCII digits only (`Int("+18001")` would take the sign), at most five of them.
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// The path as sent upstream: each segment percent-encoded where a URL needs it. `+` goes
    /// as `%2B`, as apt sends it: S3-backed repositories read a bare `+` as a space.
    static func encode(_ path: String) -> String {
        path.utf8.split(separator: UInt8(ascii: "/")).map { segment in
            var out = ""
            for byte in segment {
                let allowed =
                    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || "-._~!$&'()*,;=@".utf8.contains(byte)
                if allowed {
                    out.append(Character(Unicode.Scalar(byte)))
                } else {
                    out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
                }
            }
            return out
        }.joined(separator: "/")
    }

    /// Which files never change upstream. Under `dists/` only `by-hash/` files are immutable: a
    /// suite's other files (installer images such as `netboot.tar.gz` among them) change in place.
    static func classify(_ path: String) -> ContentClass {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if path.contains("/by-hash/") { return .immutable }
        if path.hasPrefix("dists/") || path.contains("/dists/") { return .index }
        if path.hasPrefix("pool/") || path.contains("/pool/") { return .immutable }
        let immutableSuffixes = [
            ".deb", ".udeb", ".ddeb", ".rpm", ".drpm", ".dsc", ".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst",
            ".diff.gz", ".orig.tar.gz",
        ]
        if immutableSuffixes.contains(where: name.hasSuffix) { return .immutable }
        // rpm-md: repodata/<hex checksum>-primary.xml.gz and friends.
        if path.contains("repodata/"), let dash = name.firstIndex(of: "-") {
            let prefix = name[..<dash]
            if prefix.count >= 32, prefix.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
                return .immutable
            }
        }
        return .index
    }
}

/// A refused request: status and the reason sent in the body.
struct RouteRefusal: Error, Equatable {
    let status: HTTPResponseStatus
    let reason: String
    init(_ status: HTTPResponseStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
