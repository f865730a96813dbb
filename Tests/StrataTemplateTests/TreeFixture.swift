import Foundation
import StrataCore
import Testing

@testable import StrataTemplate

/// A template tree in a fresh temporary directory, removed when the fixture is released.
final class TreeFixture {
    let root: String

    /// A tree whose `demo/config/template.yaml` sets the family and one repository, so that
    /// tests add only what they are about.
    init(base: Bool = true) throws {
        root = NSTemporaryDirectory() + "strata-template-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if base {
            try write(
                "demo/config/template.yaml",
                """
                family: deb
                distro: demo
                repositories:
                  - name: main
                    mirror: demo
                    suite: "${suite}"
                    components: [main]
                """)
            try write("demo/1/config/template.yaml", "suite: one\n")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var tree: TemplateTree { TemplateTree(root: root) }

    /// Writes `text` to `relativePath` under the root, creating directories.
    func write(_ relativePath: String, _ text: String) throws {
        let path = "\(root)/\(relativePath)"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func path(_ relativePath: String) -> String { "\(root)/\(relativePath)" }

    /// Loads `demo/1` for amd64.
    func load(_ set: String, target: String = "demo/1") throws -> TemplateSpec {
        try tree.load(target: target, set: set, architecture: Architecture("amd64"))
    }
}

/// Runs `body`, expects a ``StrataError`` with `code`, and returns its message.
@discardableResult
func expectFailure(
    _ code: StrataError.Code, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () throws -> Any
) -> String {
    do {
        let value = try body()
        Issue.record("expected a \(code) error, got \(value)", sourceLocation: sourceLocation)
    } catch let error as StrataError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error.message
    } catch {
        Issue.record("expected StrataError, got \(error)", sourceLocation: sourceLocation)
    }
    return ""
}
