// License fields as SPDX license expressions. Packages name their licenses in their family's own
// words: Debian's machine-readable copyright (DEP-5) short names (`GPL-2+`, `Expat`,
// `BSD-3-clause`, `GPL-2+ or Artistic, and BSD`), rpm's License tag (SPDX on new Fedora, the old
// Fedora names such as `GPLv2+` or `ASL 2.0` elsewhere). A field is read as names joined by
// `and`/`or` (any case), with parentheses, and with DEP-5's commas grouping what comes before
// them; a name is mapped through the packager's aliases, then matched against the SPDX ids below
// (case-insensitively); any other name, and `X with Y` exceptions, become `LicenseRef-…` ids that
// the document describes. A field that does not parse becomes one `LicenseRef-` of its whole text.
import StrataCore

public enum SPDXLicense {
    /// An SPDX license expression and the `LicenseRef-` ids it uses, with what they stand for.
    public struct Expression: Sendable, Equatable {
        public var text: String
        /// `LicenseRef-…` id → the license's name as the package gave it, and its text if known.
        public var references: [String: Reference]

        public init(text: String, references: [String: Reference] = [:]) {
            self.text = text
            self.references = references
        }
    }

    public struct Reference: Sendable, Equatable {
        public var name: String
        public var text: String?

        public init(name: String, text: String? = nil) {
            self.name = name
            self.text = text
        }
    }

    /// The expression a license field says, nil for an empty field.
    /// - Parameters:
    ///   - aliases: the family's names for SPDX ids (`GPL-2+` → `GPL-2.0-or-later`), matched
    ///     case-insensitively.
    ///   - texts: the texts of licenses the package states in full, by name.
    public static func expression(_ field: String, aliases: [String: String], texts: [String: String] = [:]) -> Expression? {
        let trimmed = field.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !trimmed.isEmpty else { return nil }
        let lowerAliases = Dictionary(aliases.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        var references = [String: Reference]()
        func id(of name: String) -> String {
            if let alias = lowerAliases[name.lowercased()] {
                if alias.hasPrefix("LicenseRef-") { references[alias] = references[alias] ?? Reference(name: name, text: texts[name]) }
                return alias
            }
            if let known = knownByLowercase[name.lowercased()] { return known }
            let ref = reference(name)
            references[ref] = references[ref] ?? Reference(name: name, text: texts[name])
            return ref
        }
        // DEP-5: "A or B, and C" is "(A or B) and C".
        let segments = trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var tokens = [String]()
        for (index, segment) in segments.enumerated() {
            var words = tokenize(segment)
            if index > 0 {
                guard let first = words.first, ["and", "or"].contains(first.lowercased()) else { return whole(trimmed, texts) }
                tokens.append(first.uppercased())
                words.removeFirst()
            }
            let grouped = segments.count > 1 && words.contains { ["and", "or"].contains($0.lowercased()) }
            if grouped { tokens.append("(") }
            var name = [String]()
            func flush() {
                if !name.isEmpty { tokens.append(id(of: name.joined(separator: " "))) }
                name = []
            }
            for word in words {
                switch word.lowercased() {
                case "and", "or":
                    flush()
                    tokens.append(word.uppercased())
                case "(", ")":
                    flush()
                    tokens.append(word)
                default: name.append(word)
                }
            }
            flush()
            if grouped { tokens.append(")") }
        }
        guard wellFormed(tokens) else { return whole(trimmed, texts) }
        return Expression(text: tokens.joined(separator: " ").replacingOccurrences(of: "( ", with: "(")
            .replacingOccurrences(of: " )", with: ")"), references: references)
    }

    /// All of `expressions` at once (a package whose files carry several licenses): their
    /// distinct texts joined by AND, compound ones parenthesized; nil when there are none.
    public static func all(_ expressions: [Expression]) -> Expression? {
        var seen = Set<String>()
        let distinct = expressions.filter { seen.insert($0.text).inserted }
        guard !distinct.isEmpty else { return nil }
        if distinct.count == 1 { return distinct[0] }
        let text = distinct.map { $0.text.contains(" ") ? "(\($0.text))" : $0.text }.joined(separator: " AND ")
        var references = [String: Reference]()
        for expression in distinct { references.merge(expression.references) { a, _ in a } }
        return Expression(text: text, references: references)
    }

    /// `LicenseRef-` and the name with what an idstring cannot hold replaced (`+` as `-plus`).
    static func reference(_ name: String) -> String {
        var id = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-": id.unicodeScalars.append(scalar)
            case "+": id += "-plus"
            default: id += "-"
            }
        }
        return "LicenseRef-" + id
    }

    private static func whole(_ field: String, _ texts: [String: String]) -> Expression {
        let ref = reference(field)
        return Expression(text: ref, references: [ref: Reference(name: field, text: texts[field])])
    }

    private static func tokenize(_ text: String) -> [String] {
        text.replacingOccurrences(of: "(", with: " ( ").replacingOccurrences(of: ")", with: " ) ")
            .split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// Names and operators alternate, parentheses balance, no empty group.
    private static func wellFormed(_ tokens: [String]) -> Bool {
        var depth = 0
        var expectName = true
        for token in tokens {
            switch token {
            case "(":
                guard expectName else { return false }
                depth += 1
            case ")":
                guard !expectName, depth > 0 else { return false }
                depth -= 1
            case "AND", "OR":
                guard !expectName else { return false }
                expectName = true
            default:
                guard expectName else { return false }
                expectName = false
            }
        }
        return depth == 0 && !expectName
    }

    /// SPDX license list ids a package may name as they are (the common ones in Debian and EL).
    static let known = [
        "0BSD", "AFL-2.1", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.0", "Apache-1.1", "Apache-2.0",
        "APSL-2.0", "Artistic-1.0", "Artistic-1.0-Perl", "Artistic-2.0", "Beerware", "BSD-1-Clause", "BSD-2-Clause",
        "BSD-3-Clause", "BSD-4-Clause", "BSD-Source-Code", "BSL-1.0", "bzip2-1.0.6", "CC-BY-3.0", "CC-BY-4.0",
        "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "curl", "EPL-1.0", "EPL-2.0", "FSFAP", "FSFUL", "FSFULLR",
        "FTL", "GFDL-1.1-only", "GFDL-1.1-or-later", "GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3-only",
        "GFDL-1.3-or-later", "GPL-1.0-only", "GPL-1.0-or-later", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only",
        "GPL-3.0-or-later", "HPND", "ICU", "IJG", "ISC", "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1-only",
        "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "Libpng", "libpng-2.0", "MIT", "MIT-0", "MIT-CMU",
        "MPL-1.1", "MPL-2.0", "NCSA", "OFL-1.1", "OLDAP-2.8", "OpenSSL", "PHP-3.01", "PostgreSQL", "PSF-2.0",
        "Python-2.0", "Ruby", "Sleepycat", "TCL", "Unicode-DFS-2016", "Unlicense", "Vim", "W3C", "WTFPL", "X11", "Zlib",
        "ZPL-2.1",
    ]
    static let knownByLowercase = Dictionary(known.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
}
