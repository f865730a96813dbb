// Words for the errors that Foundation, the standard library and the system libraries throw, so
// that none of their internal texts (`DecodingError.dataCorrupted(…)`, `NSCocoaErrorDomain error
// 512`, `bind(descriptor:ptr:bytes:) … (errno: 98)`) reaches a user. Code that knows the file or
// URL concerned wraps its errors here, at the source; the executable's `reportingErrors` uses
// ``StrataError/init(describing:)`` as the last line of defence for anything that slipped through.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension StrataError {
    /// `error` as a ``StrataError`` whose message says what went wrong in words: the path and the
    /// system's reason (`/srv/x: Read-only file system`), a JSON document's position and key.
    /// A ``StrataError`` is returned unchanged.
    /// - Parameters:
    ///   - error: any error.
    ///   - what: what was being done or read, put in front (`"/etc/x.lock.json"`); `nil` for none.
    public init(describing error: any Error, what: String? = nil) {
        if let error = error as? StrataError {
            self = what.map { StrataError(error.code, "\($0): \(error.message)", cause: error.cause) } ?? error
            return
        }
        let (code, text) = Self.words(for: error)
        self.init(code, what.map { "\($0): \(text)" } ?? text)
    }

    /// The words for why `error` happened, without the path it names: `Read-only file system`,
    /// `not valid JSON`, for messages that name the file themselves.
    public static func reason(of error: any Error) -> String {
        if let error = error as? StrataError { return error.message }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain { return cocoaReason(ns) }
        return words(for: error).1
    }

    /// The system's words for an errno value: `Address already in use`, `No space left on device`.
    public static func reason(errno code: Int32) -> String { String(cString: strerror(code)) }

    /// The code and words for a foreign error.
    static func words(for error: any Error) -> (Code, String) {
        if let decoding = error as? DecodingError { return (.invalidInput, describe(decoding)) }
        if let posix = error as? POSIXError { return (.io, reason(errno: posix.code.rawValue)) }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain { return (.io, describeCocoa(ns)) }
        if ns.domain == NSPOSIXErrorDomain { return (.io, reason(errno: Int32(ns.code))) }
        // SwiftNIO's IOError (and other system-call errors) carry the errno in a stored
        // `errnoCode`; StrataCore does not import NIO, so it is read by reflection. The errno's
        // words replace NIO's text, which names Swift functions (`bind(descriptor:ptr:bytes:)`).
        if let errno = storedErrno(of: error) { return (.io, reason(errno: errno)) }
        return (.internalError, "\(error)")
    }

    private static func storedErrno(of error: any Error) -> Int32? {
        for child in Mirror(reflecting: error).children where child.label == "errnoCode" {
            if let code = child.value as? Int32 { return code }
        }
        return nil
    }

    /// `cannot create /srv/out: Read-only file system`, from Foundation's file errors, whose own
    /// text is `The operation could not be completed. (NSCocoaErrorDomain error 512.)`.
    private static func describeCocoa(_ error: NSError) -> String {
        let path = error.userInfo[NSFilePathErrorKey] as? String ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        let reason = cocoaReason(error)
        return path.map { "\($0): \(reason)" } ?? reason
    }

    private static func cocoaReason(_ error: NSError) -> String {
        let reason: String
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            reason = Self.reason(errno: Int32(underlying.code))
        } else {
            switch CocoaError.Code(rawValue: error.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = Self.reason(errno: ENOENT)
            case .fileReadNoPermission, .fileWriteNoPermission: reason = Self.reason(errno: EACCES)
            case .fileWriteOutOfSpace: reason = Self.reason(errno: ENOSPC)
            case .fileWriteVolumeReadOnly: reason = Self.reason(errno: EROFS)
            case .fileWriteFileExists: reason = Self.reason(errno: EEXIST)
            case .fileReadCorruptFile: reason = "not in the expected format"
            case .fileReadInapplicableStringEncoding, .fileWriteInapplicableStringEncoding: reason = "not valid UTF-8"
            default:
                reason = (error.userInfo[NSDebugDescriptionErrorKey] as? String) ?? "file operation failed"
            }
        }
        return reason
    }

    /// `packages[3].sha256: expected a string`, from JSONDecoder's errors.
    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue, key.stringValue.hasPrefix("Index ") || key.stringValue == "\(index)" {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text
        }
        func at(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "" : "\(path(context.codingPath)): "
        }
        switch error {
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return "\(at(context))\(context.debugDescription.trimmingCharacters(in: .punctuationCharacters))"
        case .keyNotFound(let key, let context):
            return "missing '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context):
            return "\(at(context))expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(at(context))expected \(typeName(type)), found null"
        @unknown default:
            return "not in the expected format"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type, is UInt32.Type, is UInt.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            "\(type)".hasPrefix("Array") ? "a list" : "\(type)".hasPrefix("Dictionary") ? "an object" : "a \(type)"
        }
    }
}

extension StrataError {
    /// Decodes JSON, naming `what` (the file) and the position or key at fault on failure:
    /// `x.lock.json: not valid JSON (line 3, column 7)`, `x.lock.json: missing 'packages[2].sha256'`.
    /// - Throws: ``StrataError`` `.invalidInput`.
    public static func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            let described = StrataError(describing: error, what: what)
            guard case DecodingError.dataCorrupted(let context) = error, context.codingPath.isEmpty,
                let position = jsonErrorPosition(data)
            else { throw StrataError(.invalidInput, described.message) }
            throw StrataError(.invalidInput, "\(described.message) (\(position))")
        }
    }

    /// `line L, column C` of the first syntax error in `data`, from JSONSerialization's
    /// `around character N` (which JSONDecoder drops), or that the document ends early.
    static func jsonErrorPosition(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            let text = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? ""
            if text.contains("end of file") { return "it ends early: truncated?" }
            guard let range = text.range(of: #"character \d+"#, options: .regularExpression),
                let offset = Int(text[range].dropFirst("character ".count))
            else { return nil }
            var line = 1
            var column = 1
            for byte in data.prefix(offset) {
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            }
            return "line \(line), column \(column)"
        }
    }
}
