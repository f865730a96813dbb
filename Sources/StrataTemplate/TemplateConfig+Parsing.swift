// template.yaml: one YAML mapping per level. Top-level scalar keys are settings; the structured
// keys are `repositories` and `dummies` (lists of mappings) and `excludes` and `cleanup` (lists of
// path globs). Parsed with Yams' node API rather than Codable so that every value keeps its line
// for error messages. Anchors and aliases work as libyaml resolves them; tags are ignored.
import Foundation
import Yams

extension TemplateConfig {
    /// Parses the `template.yaml` at `path`.
    /// - Throws: ``StrataError`` `.invalidInput` naming the file and line for YAML syntax errors,
    ///   unknown keys and values of the wrong shape; `.io` when the file cannot be read.
    static func load(path: String) throws -> TemplateConfig {
        let text = try TemplateTree.readText(path)
        return try parse(text, file: path)
    }

    static func parse(_ text: String, file: String) throws -> TemplateConfig {
        var config = TemplateConfig(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        }
        guard let root else { return config }
        let reader = NodeReader(file: file)
        for (key, value) in try reader.mapping(root, what: "template.yaml") {
            switch key.value {
            case "repositories":
                config.repositories = try reader.sequence(value, what: key.value).map(reader.repository)
            case "dummies":
                config.dummies = try reader.sequence(value, what: key.value).map(reader.dummy)
            case "excludes":
                config.excludes = try reader.strings(value, what: key.value)
            case "cleanup":
                config.cleanup = try reader.strings(value, what: key.value)
            case "trusted":
                throw TemplateError.invalid(
                    at: key.location,
                    "'trusted' is not a setting: write 'trusted: true' on each repository that needs it")
            default:
                guard TemplateConfig.isSettingName(key.value) else {
                    throw TemplateError.invalid(
                        at: key.location, "invalid setting name '\(key.value)' (letters, digits, '_', '-', '.')")
                }
                guard let scalar = value.scalar else {
                    throw TemplateError.invalid(
                        at: key.location,
                        "'\(key.value)' must be a scalar setting; the structured keys are "
                            + TemplateConfig.structuredKeys.joined(separator: ", ")
                            + NameSuggestion.hint(for: key.value, in: TemplateConfig.structuredKeys))
                }
                config.settings[key.value] = try reader.text(scalar, of: key)
            }
        }
        return config
    }

    static func isSettingName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
                || "_-.".unicodeScalars.contains($0)
        }
    }

    /// Yams' errors carry a mark; ours put it in front as `file:line`.
    static func describe(_ error: YamlError, file: String) -> Error {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text), " } ?? ""
            return TemplateError.invalid(
                at: SourceLocation(file: file, line: mark.line), "YAML syntax error: \(detail)\(problem)")
        default:
            return TemplateError.invalid(at: SourceLocation(file: file), "YAML error: \(error)")
        }
    }
}

/// Reads Yams nodes into located values, with errors that name the file and the node's line.
struct NodeReader {
    var file: String

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line)
    }

    /// The pairs of a mapping, keys as located strings; duplicate keys are an error.
    func mapping(_ node: Node, what: String) throws -> [(Located<String>, Node)] {
        guard let mapping = node.mapping else {
            throw TemplateError.invalid(at: location(node), "\(what) must be a mapping of keys to values")
        }
        var seen = Set<String>()
        return try mapping.map { key, value in
            guard let name = key.scalar?.string else {
                throw TemplateError.invalid(at: location(key), "keys in \(what) must be plain names")
            }
            guard seen.insert(name).inserted else {
                throw TemplateError.invalid(at: location(key), "duplicate key '\(name)' in \(what)")
            }
            return (Located(name, at: location(key)), value)
        }
    }

    func sequence(_ node: Node, what: String) throws -> [Node] {
        if node.scalar?.string == "" || node.null != nil { return [] }
        guard let sequence = node.sequence else {
            throw TemplateError.invalid(at: location(node), "'\(what)' must be a list")
        }
        return Array(sequence)
    }

    func text(_ scalar: Node.Scalar, of key: Located<String>) throws -> Located<String> {
        let at = SourceLocation(file: file, line: scalar.mark?.line ?? key.location.line)
        guard !scalar.string.isEmpty else {
            throw TemplateError.invalid(at: at, "'\(key.value)' has no value")
        }
        return Located(scalar.string, at: at)
    }

    func string(_ node: Node, of key: Located<String>) throws -> Located<String> {
        guard let scalar = node.scalar else {
            throw TemplateError.invalid(
                at: location(node), "'\(key.value)' must be a single value, not a list or mapping")
        }
        return try text(scalar, of: key)
    }

    func strings(_ node: Node, what: String) throws -> [Located<String>] {
        try sequence(node, what: what).map { item in
            try string(item, of: Located(what, at: location(item)))
        }
    }

    func bool(_ node: Node, of key: Located<String>) throws -> Bool {
        switch node.scalar?.string {
        case "true": return true
        case "false": return false
        default:
            throw TemplateError.invalid(at: location(node), "'\(key.value)' must be true or false")
        }
    }

    /// Checks the keys of an entry mapping against `known`, with a suggestion for typos.
    func entryFields(_ node: Node, what: String, known: [String]) throws -> [String: (Located<String>, Node)] {
        var fields: [String: (Located<String>, Node)] = [:]
        for (key, value) in try mapping(node, what: "a \(what) entry") {
            guard known.contains(key.value) else {
                throw TemplateError.invalid(
                    at: key.location,
                    "unknown key '\(key.value)' in a \(what) entry" + NameSuggestion.hint(for: key.value, in: known))
            }
            fields[key.value] = (key, value)
        }
        guard fields["name"] != nil else {
            throw TemplateError.invalid(at: location(node), "a \(what) entry needs a 'name'")
        }
        return fields
    }

    func repository(_ node: Node) throws -> RepositoryEntry {
        let fields = try entryFields(node, what: "repositories", known: RepositoryEntry.keys)
        func optional(_ key: String) throws -> Located<String>? {
            try fields[key].map { try string($0.1, of: $0.0) }
        }
        let name = try optional("name") ?? Located("", at: location(node))
        return RepositoryEntry(
            name: name, url: try optional("url"), mirror: try optional("mirror"), suite: try optional("suite"),
            components: try fields["components"].map { try strings($0.1, what: "components") },
            keyring: try optional("keyring"),
            trusted: try fields["trusted"].map { try bool($0.1, of: $0.0) } ?? false,
            drop: try fields["drop"].map { try bool($0.1, of: $0.0) } ?? false, imageURL: try optional("image-url"),
            path: try optional("path"))
    }

    func dummy(_ node: Node) throws -> DummyEntry {
        let fields = try entryFields(node, what: "dummies", known: DummyEntry.keys)
        let name = try fields["name"].map { try string($0.1, of: $0.0) } ?? Located("", at: location(node))
        return DummyEntry(
            name: name, version: try fields["version"].map { try string($0.1, of: $0.0) },
            provides: try fields["provides"].map { try strings($0.1, what: "provides") } ?? [],
            drop: try fields["drop"].map { try bool($0.1, of: $0.0) } ?? false)
    }
}
