// StrataError(describing:) is the last line of defence between Foundation's and NIO's error texts
// and a user; Diagnostics is how warnings reach them. Issue 8, items 12 and 14.
import Foundation
import Logging
import StrataCore
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Foreign errors in words")
struct ErrorDescriptionTests {
    struct Doc: Codable {
        struct Item: Codable { var name: String; var size: UInt64 }
        var version: Int
        var items: [Item]
    }

    @Test("JSON: the key path at fault, the position of a syntax error, a truncated document")
    func json() throws {
        func message(_ text: String) -> String {
            do {
                _ = try StrataError.decodeJSON(Doc.self, from: Data(text.utf8), what: "x.json")
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(
            message(#"{"version": 1, "items": [{"name": "a", "size": 1}, {"name": "b"}]}"#)
                == "x.json: missing 'items[1].size'")
        #expect(message(#"{"version": "1", "items": []}"#) == "x.json: version: expected an integer")
        #expect(message("{\"version\": 1,\n  \"items\": [}") == "x.json: not valid JSON (line 2, column 13)")
        #expect(message(#"{"version": 1, "#) == "x.json: not valid JSON (it ends early: truncated?)")
    }

    @Test("Foundation file errors: the path and the system's reason, never NSCocoaErrorDomain")
    func foundationFiles() throws {
        do {
            try FileManager.default.createDirectory(atPath: "/proc/strata-test/a", withIntermediateDirectories: true)
            Issue.record("creating a directory under /proc succeeded")
        } catch {
            let described = StrataError(describing: error)
            #expect(described.message == "/proc/strata-test: No such file or directory")
            #expect(described.code == .io)
            #expect(StrataError.reason(of: error) == "No such file or directory")
        }
        let bare = NSError(
            domain: NSCocoaErrorDomain, code: CocoaError.fileWriteOutOfSpace.rawValue,
            userInfo: [NSFilePathErrorKey: "/srv/out.tar"])
        #expect(StrataError(describing: bare).message == "/srv/out.tar: No space left on device")
        #expect(
            StrataError(describing: POSIXError(.EROFS), what: "/srv/out.tar").message
                == "/srv/out.tar: Read-only file system")
    }

    /// Shaped as SwiftNIO's IOError (a stored errno and a text naming a Swift function).
    struct FakeIOError: Error, CustomStringConvertible {
        var errnoCode: Int32
        var description: String { "bind(descriptor:ptr:bytes:): Address already in use (errno: 98)" }
    }

    @Test("an error that carries an errno is described by its strerror, not its Swift text")
    func errnoCarrying() {
        let described = StrataError(
            describing: FakeIOError(errnoCode: EADDRINUSE), what: "cannot listen on 127.0.0.1:3142")
        #expect(described.message == "cannot listen on 127.0.0.1:3142: Address already in use")
    }

    @Test("warnings are 'strata: warning: …' lines; quiet drops them, never errors; notes only when asked for")
    func diagnosticLines() {
        let loud = Diagnostics.Settings(quiet: false)
        let quiet = Diagnostics.Settings(quiet: true)
        #expect(Diagnostics.line(.warning, "w", settings: loud) == "strata: warning: w")
        #expect(Diagnostics.line(.warning, "w", settings: quiet) == nil)
        #expect(Diagnostics.line(.error, "e", settings: quiet) == "strata: error: e")
        #expect(Diagnostics.line(.note, "n", settings: loud) == nil)
        #expect(
            Diagnostics.line(.note, "n", speaker: "strata proxy", settings: .init(showsNotes: true))
                == "strata proxy: n")
    }

    @Test("a task's collector gets its warnings, and swift-log lines in the same voice")
    func collector() async {
        let lines = Mutex<[String]>([])
        await Diagnostics.$collector.withValue(Diagnostics.Collector { line in lines.withLock { $0.append(line) } }) {
            Diagnostics.warning("one")
            await Task { Diagnostics.warning("from a child task") }.value
            DiagnosticsLogHandler(label: "strata.proxy").log(
                event: LogEvent(
                    level: .warning, message: "logged", metadata: nil, source: "t", file: "f", function: "g", line: 1))
        }
        #expect(
            lines.withLock { $0 } == [
                "strata: warning: one", "strata: warning: from a child task", "strata proxy: warning: logged",
            ])
    }
}
