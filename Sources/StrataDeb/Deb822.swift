import StrataCore

// Deb822 control data (RFC-822-like stanzas), as used by `Release`, `InRelease` and `Packages`:
// `Field: value` lines, continuation lines starting with a space or tab, stanzas separated by
// blank lines. Specified in deb822(5). Field names compare case-insensitively; values keep their
// bytes (only the separator and surrounding blanks of the first line are removed).

/// One stanza: its fields in order, looked up case-insensitively.
public struct Deb822Stanza: Sendable, Equatable {
    public internal(set) var fields: [(name: String, value: String)] = []

    public subscript(_ name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    mutating func append(_ name: String, _ value: String) { fields.append((name, value)) }

    public static func == (a: Deb822Stanza, b: Deb822Stanza) -> Bool {
        a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }
}

public enum Deb822 {
    /// Parses every stanza of `text`.
    /// - Parameter what: names the source in errors.
    /// - Throws: ``StrataError`` `.invalidInput` with the line number for a line that is neither a
    ///   field, a continuation nor blank.
    public static func parse(_ text: String, what: String) throws -> [Deb822Stanza] {
        var stanzas = [Deb822Stanza]()
        var current = Deb822Stanza()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
                if !current.fields.isEmpty { stanzas.append(current) }
                current = Deb822Stanza()
                continue
            }
            if line.hasPrefix("#") { continue }
            if line.first == " " || line.first == "\t" {
                guard let last = current.fields.popLast() else {
                    throw StrataError(.invalidInput, "\(what):\(lineNumber): continuation line outside a field")
                }
                let piece = line.dropFirst()
                current.append(last.name, last.value.isEmpty ? String(piece) : last.value + "\n" + piece)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw StrataError(.invalidInput, "\(what):\(lineNumber): not a 'Field: value' line: '\(line.prefix(80))'")
            }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
            current.append(name, String(value.reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed()))
        }
        if !current.fields.isEmpty { stanzas.append(current) }
        return stanzas
    }
}
