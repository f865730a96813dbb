// What a failed HTTP exchange means, in words, and whether trying again can help.
//
// AsyncHTTPClient and SwiftNIO report a refused connection as `connection reset (error set):
// Connection refused (errno: 111)`, wrapped in NIOConnectionError or not, and a timeout as one of
// several HTTPClientError or ChannelError values. This file turns each into one phrase
// ("refused the connection", "timed out") said about whoever was being talked to: the proxy when
// one is configured (the mirror behind it was never reached), else the server of the URL.
//
//   refused, no route, unknown host   .unreachable: final, the caller does not try again
//   timeouts, resets, closed early     .network: transient, worth another attempt
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

extension HTTPFetcher {
    /// A failure to reach a server or to complete an exchange with it.
    struct ConnectionFailure {
        /// "refused the connection", "timed out", …: said of the server.
        var phrase: String
        /// Whether a second attempt may succeed.
        var transient: Bool
        /// A hint for the person, said after the phrase.
        var hint: String?
    }

    /// Classifies an error AsyncHTTPClient threw before or while a response was received;
    /// `nil` for one that is not about the connection.
    static func connectionFailure(_ error: any Error) -> ConnectionFailure? {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return connectionFailure(first.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return ConnectionFailure(phrase: "cannot be resolved (unknown host name)", transient: false)
            }
            return ConnectionFailure(phrase: "could not be connected to", transient: true)
        }
        if let error = error as? IOError { return connectionFailure(errno: error.errnoCode) }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout:
                return ConnectionFailure(phrase: "timed out accepting the connection", transient: true)
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed:
                return ConnectionFailure(phrase: "closed the connection early", transient: true)
            default: return nil
            }
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout:
                return ConnectionFailure(phrase: "timed out accepting the connection", transient: true)
            case .readTimeout, .deadlineExceeded:
                return ConnectionFailure(phrase: "timed out sending data", transient: true)
            case .writeTimeout:
                return ConnectionFailure(phrase: "timed out receiving the request", transient: true)
            case .remoteConnectionClosed:
                return ConnectionFailure(phrase: "closed the connection early", transient: true)
            case .tlsHandshakeTimeout:
                return ConnectionFailure(phrase: "timed out in the TLS handshake", transient: true)
            default: return nil
            }
        }
        return nil
    }

    static func connectionFailure(errno code: Int32) -> ConnectionFailure {
        switch code {
        case ECONNREFUSED: ConnectionFailure(phrase: "refused the connection", transient: false)
        case EHOSTUNREACH, ENETUNREACH:
            ConnectionFailure(phrase: "cannot be reached (\(StrataError.reason(errno: code)))", transient: false)
        case ECONNRESET, EPIPE: ConnectionFailure(phrase: "reset the connection", transient: true)
        case ETIMEDOUT: ConnectionFailure(phrase: "timed out", transient: true)
        default: ConnectionFailure(phrase: "failed: \(StrataError.reason(errno: code))", transient: true)
        }
    }

    /// The error for `url` when the exchange failed with `error`.
    ///
    /// With a proxy configured, a connection failure is the proxy's: the message names it
    /// (`proxy http://127.0.0.1:3142 refused the connection (is it running?)`) and not the mirror,
    /// which was never reached. ``StrataError/Code/unreachable`` marks failures that another
    /// attempt will not cure; ``StrataError/Code/network`` the others.
    func failure(_ url: String, _ error: any Error, receivedBytes: Int? = nil) -> StrataError {
        if let error = error as? StrataError { return error }
        let interrupted = receivedBytes.map { "download interrupted after \($0) bytes: " } ?? ""
        guard let failure = Self.connectionFailure(error) else {
            let words = StrataError(describing: error).message
            return StrataError(.network, "\(url): \(interrupted)\(words)")
        }
        let code: StrataError.Code = failure.transient ? .network : .unreachable
        if let proxyBase {
            let hint = failure.phrase == "refused the connection" && receivedBytes == nil ? " (is it running?)" : ""
            return StrataError(code, "\(url): \(interrupted)proxy \(proxyBase) \(failure.phrase)\(hint)")
        }
        let server =
            URLComponents(string: url).map { components in
                let host = components.host ?? "?"
                let port = components.port ?? (components.scheme == "https" ? 443 : 80)
                return "\(host):\(port)"
            } ?? url
        return StrataError(code, "\(url): \(interrupted)\(server) \(failure.phrase)")
    }
}
