/// `${name}` expansion in template values.
///
/// Names refer to the merged scalar settings (any level may use a setting another level
/// defines) and to the built-ins `arch` (Debian name, `amd64`) and `basearch` (RPM name,
/// `x86_64`). A setting may itself use variables; cycles are errors. `$${` writes a literal
/// `${`; a `$` not followed by `{` is left alone (dnf's own `$basearch` passes through).
struct VariableExpander: Sendable {
    static let builtinNames = ["arch", "basearch"]

    private let raw: [String: Located<String>]
    private let builtins: [String: String]
    /// Every setting, expanded.
    private(set) var settings: [String: String] = [:]

    /// Expands every setting.
    /// - Throws: ``StrataError`` `.invalidInput` naming the file and line of the value that uses an
    ///   unknown variable, forms a cycle or has an unterminated `${`.
    init(settings raw: [String: Located<String>], builtins: [String: String]) throws {
        self.raw = raw
        self.builtins = builtins
        for name in raw.keys.sorted() {
            _ = try resolve(name, stack: [])
        }
    }

    /// Expands one value using the expanded settings.
    func expand(_ value: Located<String>) throws -> String {
        var copy = self
        return try copy.substitute(value, stack: [])
    }

    private mutating func resolve(_ name: String, stack: [String]) throws -> String? {
        if let done = settings[name] { return done }
        if let builtin = builtins[name] { return builtin }
        guard let value = raw[name] else { return nil }
        if let start = stack.firstIndex(of: name) {
            let chain = (stack[start...] + [name]).joined(separator: " -> ")
            throw TemplateError.invalid(at: value.location, "variable cycle: \(chain)")
        }
        let expanded = try substitute(value, stack: stack + [name])
        settings[name] = expanded
        return expanded
    }

    private mutating func substitute(_ value: Located<String>, stack: [String]) throws -> String {
        var output = ""
        var rest = Substring(value.value)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[dollar...].dropFirst()
            if after.hasPrefix("${") {
                output += "${"
                rest = after.dropFirst(2)
            } else if after.hasPrefix("{") {
                guard let close = after.firstIndex(of: "}") else {
                    throw TemplateError.invalid(at: value.location, "unterminated '${' in '\(value.value)'")
                }
                let name = String(after[after.index(after: after.startIndex)..<close])
                guard let replacement = try resolve(name, stack: stack) else {
                    let known = Array(raw.keys) + Array(builtins.keys)
                    throw TemplateError.invalid(
                        at: value.location,
                        "unknown variable '${\(name)}' in '\(value.value)'"
                            + NameSuggestion.hint(for: name, in: known.sorted())
                            + " (known: \(known.sorted().joined(separator: ", ")))")
                }
                output += replacement
                rest = after[after.index(after: close)...]
            } else {
                output += "$"
                rest = after
            }
        }
        output += rest
        return output
    }
}
