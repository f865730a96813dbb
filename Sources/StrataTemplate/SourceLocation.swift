/// Where a value in the template tree was written: the full path of the file and, when known,
/// the 1-based line. Every template error starts with it, as compilers do (`file:line: …`).
struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    var file: String
    var line: Int?

    init(file: String, line: Int? = nil) {
        self.file = file
        self.line = line
    }

    var description: String {
        if let line { return "\(file):\(line)" }
        return file
    }
}

/// A value together with where it was written, so that errors found late (after merging, during
/// variable expansion) can still name the file and line.
struct Located<Value: Sendable>: Sendable {
    var value: Value
    var location: SourceLocation

    init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Equatable where Value: Equatable {}
