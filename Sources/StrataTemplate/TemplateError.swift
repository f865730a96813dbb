import StrataCore

/// Everything that can be wrong with a template tree, with what the user needs to fix it.
///
/// Thrown as ``StrataError`` (see ``strataError``) so callers branch on the code; the message
/// always starts with the file, and the line when there is one.
enum TemplateError: Sendable {
    /// A malformed line, key or value; `message` says what and how to fix it.
    case invalid(SourceLocation, String)
    /// Something named in the tree or on the command line that does not exist.
    case notFound(SourceLocation?, String)

    var strataError: StrataError {
        switch self {
        case .invalid(let location, let message):
            StrataError(.invalidInput, "\(location): \(message)")
        case .notFound(let location?, let message):
            StrataError(.notFound, "\(location): \(message)")
        case .notFound(nil, let message):
            StrataError(.notFound, message)
        }
    }

    /// Shorthand for `throw TemplateError.invalid(…).strataError`.
    static func invalid(at location: SourceLocation, _ message: String) -> StrataError {
        TemplateError.invalid(location, message).strataError
    }

    /// Shorthand for `throw TemplateError.notFound(…).strataError`.
    static func notFound(at location: SourceLocation?, _ message: String) -> StrataError {
        TemplateError.notFound(location, message).strataError
    }
}
