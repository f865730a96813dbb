// *.list files: one entry per line; `#` starts a comment (whole line or trailing); blank
// lines are ignored.
//
//     @include minbase        # the fully processed list of another set
//     @base minbase           # an application template: a layer onto the built minbase
//     ?priority(important)    # a selector, in apt's pattern syntax
//     less                    # a package
//     systemd-                # trailing '-': drop it from what was inherited or included
//
// Selectors supported: `?essential` and `?priority(NAME)`; other apt patterns are errors.
// Debian names follow Policy 5.6.1 (`[a-z0-9][a-z0-9+.-]+`); RPM names also allow capitals and
// `_`. A trailing `-` is always the drop marker, never part of a name.
import StrataCore

extension PackageList {
    static let directives = ["@include", "@base"]
    static let selectorForms = ["?essential", "?priority"]

    /// Parses the text of one list file.
    /// - Parameters:
    ///   - file: the full path, for errors.
    ///   - family: which naming rules package names follow.
    /// - Throws: ``StrataError`` `.invalidInput` as `file:line: problem`.
    static func parse(_ text: String, file: String, family: PackageFamily) throws -> [Located<PackageListEntry>] {
        var entries: [Located<PackageListEntry>] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let location = SourceLocation(file: file, line: index + 1)
            let line = (rawLine.firstIndex(of: "#").map { rawLine[..<$0] } ?? rawLine)
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first else { continue }
            let entry: PackageListEntry
            if first.hasPrefix("@") {
                entry = try directive(words, at: location)
            } else {
                guard words.count == 1 else {
                    throw TemplateError.invalid(
                        at: location, "one entry per line, found \(words.count): '\(words.joined(separator: " "))'")
                }
                entry =
                    first.hasPrefix("?")
                    ? try selector(first, at: location) : try package(first, family: family, at: location)
            }
            entries.append(Located(entry, at: location))
        }
        return entries
    }

    private static func directive(_ words: [String], at location: SourceLocation) throws -> PackageListEntry {
        guard directives.contains(words[0]) else {
            throw TemplateError.invalid(
                at: location, "unknown directive '\(words[0])'" + NameSuggestion.hint(for: words[0], in: directives))
        }
        guard words.count == 2 else {
            throw TemplateError.invalid(at: location, "\(words[0]) takes one set name, found \(words.count - 1)")
        }
        guard isSetName(words[1]) else {
            throw TemplateError.invalid(at: location, "invalid set name '\(words[1])' after \(words[0])")
        }
        return words[0] == "@base" ? .base(words[1]) : .include(words[1])
    }

    private static func selector(_ word: String, at location: SourceLocation) throws -> PackageListEntry {
        let dropping = word.hasSuffix("-")
        let body = dropping ? String(word.dropLast()) : word
        let parsed: PackageSelector
        if body == "?essential" {
            parsed = .essential
        } else if body.hasPrefix("?priority(") && body.hasSuffix(")") {
            let value = String(body.dropFirst("?priority(".count).dropLast())
            guard !value.isEmpty, value.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) }) else {
                throw TemplateError.invalid(
                    at: location, "invalid priority '\(value)' in '\(word)' (required, important, standard, …)")
            }
            parsed = .priority(value)
        } else {
            let head = String(body.prefix(while: { $0 != "(" }))
            throw TemplateError.invalid(
                at: location,
                "unsupported selector '\(body)'" + NameSuggestion.hint(for: head, in: selectorForms)
                    + " (supported: ?essential, ?priority(NAME))")
        }
        return dropping ? .dropSelector(parsed) : .select(parsed)
    }

    private static func package(_ word: String, family: PackageFamily, at location: SourceLocation) throws
        -> PackageListEntry
    {
        let dropping = word.hasSuffix("-")
        let name = dropping ? String(word.dropLast()) : word
        guard isPackageName(name, family: family) else {
            let rule =
                family == .deb
                ? "lowercase letters, digits, '+', '-', '.'; at least two characters, starting with a letter or digit"
                : "letters, digits, '+', '_', '-', '.', starting with a letter or digit"
            throw TemplateError.invalid(at: location, "invalid package name '\(name)' (\(rule); no trailing '-')")
        }
        return dropping ? .drop(name) : .add(name)
    }

    static func isPackageName(_ name: String, family: PackageFamily) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, !name.hasSuffix("-") else { return false }
        func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
        func isLower(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) }
        func isUpper(_ c: Unicode.Scalar) -> Bool { ("A"..."Z").contains(c) }
        switch family {
        case .deb:
            return scalars.count >= 2 && (isLower(first) || isDigit(first))
                && scalars.allSatisfy { isLower($0) || isDigit($0) || "+.-".unicodeScalars.contains($0) }
        case .rpm:
            return (isLower(first) || isUpper(first) || isDigit(first))
                && scalars.allSatisfy {
                    isLower($0) || isUpper($0) || isDigit($0) || "+._-".unicodeScalars.contains($0)
                }
        }
    }

    /// Set names are list file names without `.list`: `[a-z0-9][a-z0-9._-]*`.
    static func isSetName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
        }
    }
}
