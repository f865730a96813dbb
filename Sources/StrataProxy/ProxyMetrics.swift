// Counters for /metrics (Prometheus text format) and the /_strata/ status page.
import Foundation
import Synchronization

final class ProxyMetrics: Sendable {
    enum Counter: Int, CaseIterable {
        case requests, hits, misses, revalidations, notModified, staleServed, negativeHits
        case bytesFromCache, bytesFromUpstream, upstreamRequests, upstreamErrors, verificationFailures
        case refused, clientErrors, storeErrors

        var name: String {
            switch self {
            case .requests: "strata_proxy_requests_total"
            case .hits: "strata_proxy_cache_hits_total"
            case .misses: "strata_proxy_cache_misses_total"
            case .revalidations: "strata_proxy_revalidations_total"
            case .notModified: "strata_proxy_upstream_not_modified_total"
            case .staleServed: "strata_proxy_stale_served_total"
            case .negativeHits: "strata_proxy_negative_hits_total"
            case .bytesFromCache: "strata_proxy_bytes_from_cache_total"
            case .bytesFromUpstream: "strata_proxy_bytes_from_upstream_total"
            case .upstreamRequests: "strata_proxy_upstream_requests_total"
            case .upstreamErrors: "strata_proxy_upstream_errors_total"
            case .verificationFailures: "strata_proxy_verification_failures_total"
            case .refused: "strata_proxy_refused_requests_total"
            case .clientErrors: "strata_proxy_client_errors_total"
            case .storeErrors: "strata_proxy_store_errors_total"
            }
        }

        var help: String {
            switch self {
            case .requests: "Requests answered."
            case .hits: "Requests served from the cache without asking upstream."
            case .misses: "Requests that needed an upstream transfer (shared transfers count once per request)."
            case .revalidations: "Index revalidations started upstream."
            case .notModified: "Revalidations upstream answered 304 Not Modified."
            case .staleServed: "Stale index responses served because upstream failed."
            case .negativeHits: "Requests answered 404 from the remembered upstream 404."
            case .bytesFromCache: "Body bytes sent to clients from cached files."
            case .bytesFromUpstream: "Body bytes received from upstream."
            case .upstreamRequests: "HTTP requests sent upstream."
            case .upstreamErrors: "Upstream transfers that failed (network, 5xx, truncation)."
            case .verificationFailures: "Downloads refused because they did not match their index."
            case .refused: "Requests refused (traversal, unknown host, unsupported method, bad request)."
            case .clientErrors: "Client connections that ended mid-response."
            case .storeErrors: "Downloads that could not be stored (disk full, I/O)."
            }
        }
    }

    private final class Cell: Sendable {
        let value = Atomic<Int>(0)
    }
    private let counters: [Cell]
    let inFlight = Atomic<Int>(0)
    let connections = Atomic<Int>(0)
    let started = Date()

    init() { counters = Counter.allCases.map { _ in Cell() } }

    func add(_ counter: Counter, _ amount: Int = 1) {
        counters[counter.rawValue].value.wrappingAdd(amount, ordering: .relaxed)
    }

    func value(_ counter: Counter) -> Int { counters[counter.rawValue].value.load(ordering: .relaxed) }

    /// The Prometheus exposition text.
    func prometheus(entries: Int, catalogued: Int) -> String {
        var text = ""
        for counter in Counter.allCases {
            text += "# HELP \(counter.name) \(counter.help)\n# TYPE \(counter.name) counter\n"
            text += "\(counter.name) \(value(counter))\n"
        }
        let gauges: [(String, String, Int)] = [
            ("strata_proxy_inflight_downloads", "Upstream transfers running now.", inFlight.load(ordering: .relaxed)),
            ("strata_proxy_open_connections", "Client connections open now.", connections.load(ordering: .relaxed)),
            ("strata_proxy_cache_entries", "Files in the cache.", entries),
            ("strata_proxy_index_named_files", "Files whose sha256 a cached index names.", catalogued),
        ]
        for (name, help, value) in gauges {
            text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
        }
        return text
    }

    /// The status page for a person.
    func statusPage(entries: Int, catalogued: Int, backends: [Backend]) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        }
        let uptime = Int(Date().timeIntervalSince(started))
        var rows = ""
        for counter in Counter.allCases {
            rows += "<tr><td>\(counter.help)</td><td>\(value(counter))</td></tr>\n"
        }
        rows += "<tr><td>Upstream transfers running now</td><td>\(inFlight.load(ordering: .relaxed))</td></tr>\n"
        rows += "<tr><td>Client connections open now</td><td>\(connections.load(ordering: .relaxed))</td></tr>\n"
        rows += "<tr><td>Files in the cache</td><td>\(entries)</td></tr>\n"
        rows += "<tr><td>Files whose sha256 a cached index names</td><td>\(catalogued)</td></tr>\n"
        var backendRows = ""
        for backend in backends {
            backendRows +=
                "<tr><td>/\(escape(backend.name))/</td><td>\(backend.upstreams.map { escape($0.description) }.joined(separator: "<br>"))</td></tr>\n"
        }
        return """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>strata proxy</title></head><body>
            <h1>strata proxy</h1>
            <p>Up \(uptime / 3600) h \(uptime / 60 % 60) min. Figures as in <a href="/metrics">/metrics</a>.</p>
            <table border="1" cellpadding="4">\n\(rows)</table>
            <h2>Backends</h2>
            <table border="1" cellpadding="4">\n\(backendRows)</table>
            </body></html>

            """
    }
}
