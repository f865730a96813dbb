// Faults a LoopbackHTTPServer can inject per path, to test how clients and the proxy cope with a
// misbehaving upstream.
import Foundation

/// What to do wrong when a path is requested. Parts combine: a delay applies before any of the
/// others; a status replaces the file; a replacement body is what a truncation cuts.
public struct HTTPFault: Sendable, Hashable {
    /// Answer with this status and an empty body instead of the file.
    public var status: Int?
    /// Announce the full `Content-Length`, send only this many body bytes, then close the connection.
    public var truncateAfter: Int?
    /// Send these bytes as the body instead of the file's (tampering); `Content-Length` follows them.
    public var replacementBody: [UInt8]?
    /// Wait this long before answering.
    public var delay: Duration?
    /// Send the body in chunks of `bytes`, one every `interval` (a slow upstream).
    public var throttle: Throttle?
    /// Answer `302 Found` with this `Location`.
    public var redirectTo: String?

    /// How a throttled body is paced.
    public struct Throttle: Sendable, Hashable {
        public var bytes: Int
        public var interval: Duration
        public init(bytes: Int, interval: Duration) {
            self.bytes = bytes
            self.interval = interval
        }
    }

    /// Creates a fault from its parts.
    public init(
        status: Int? = nil, truncateAfter: Int? = nil, replacementBody: [UInt8]? = nil, delay: Duration? = nil,
        throttle: Throttle? = nil, redirectTo: String? = nil
    ) {
        self.status = status
        self.truncateAfter = truncateAfter
        self.replacementBody = replacementBody
        self.delay = delay
        self.throttle = throttle
        self.redirectTo = redirectTo
    }

    /// Answer with `code` (`404`, `500`, `503`, …).
    public static func status(_ code: Int) -> HTTPFault { HTTPFault(status: code) }
    /// Cut the body after `bytes` bytes and close the connection.
    public static func truncate(after bytes: Int) -> HTTPFault { HTTPFault(truncateAfter: bytes) }
    /// Serve `bytes` instead of the file.
    public static func replaceBody(with bytes: [UInt8]) -> HTTPFault { HTTPFault(replacementBody: bytes) }
    /// Answer normally, but only after `duration`.
    public static func delay(_ duration: Duration) -> HTTPFault { HTTPFault(delay: duration) }

    /// Send the body `bytes` at a time, one chunk per `interval`.
    public static func throttle(_ bytes: Int, every interval: Duration) -> HTTPFault {
        HTTPFault(throttle: Throttle(bytes: bytes, interval: interval))
    }
    /// Redirect (302) to `location`.
    public static func redirect(to location: String) -> HTTPFault { HTTPFault(redirectTo: location) }

    /// This fault, answered after `duration`.
    public func delayed(by duration: Duration) -> HTTPFault {
        var copy = self
        copy.delay = duration
        return copy
    }
}
