/// The one error type that crosses module boundaries.
///
/// Callers branch on ``code``; ``message`` is for people and names what they need to act on:
/// the file and line, the package, the expected and actual digest.
public struct StrataError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Opaque so that new codes do not break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }

        public static let notFound = Code("not found")
        public static let invalidInput = Code("invalid input")
        public static let verificationFailed = Code("verification failed")
        public static let unsatisfiable = Code("unsatisfiable")
        /// A transfer failed in a way another attempt may cure (a timeout, a reset mid-transfer).
        public static let network = Code("network")
        /// A server could not be reached at all (connection refused, unknown host, no route):
        /// trying again at once will not help, so callers fail fast.
        public static let unreachable = Code("unreachable")
        public static let io = Code("i/o")
        public static let toolFailed = Code("tool failed")
        public static let internalError = Code("internal error")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause, !"\(cause)".isEmpty { return "\(message): \(cause)" }
        return message
    }
}

extension StrataError {
    /// An error for a state the code believes impossible; never used for bad input.
    public static func internalError(_ message: String) -> StrataError {
        StrataError(.internalError, "internal error: \(message)")
    }
}
