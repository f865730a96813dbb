// Warnings and notes for the person running strata, in the tool's own voice:
//
//   strata: warning: repository 'main' is marked trusted: http://…/InRelease is NOT verified
//
// on standard error, one line each. Libraries say what happened (``Diagnostics/warning(_:)``);
// the executable decides whether it is shown (`-q` silences warnings and notes, never errors).
// swift-log messages (``Log``) are routed here
// too by ``DiagnosticsLogHandler``, so a module that logs still speaks in this voice and obeys `-q`.
import Foundation
import Logging
import Synchronization

/// Where warnings and notes go, and whether they are shown.
public enum Diagnostics {
    /// What the executable chose for this run.
    public struct Settings: Sendable {
        /// Warnings are dropped (`-q`, `--quiet`). Errors are never dropped.
        public var quiet = false
        /// Notes (information about normal progress) are shown.
        public var showsNotes = false

        public init(quiet: Bool = false, showsNotes: Bool = false) {
            self.quiet = quiet
            self.showsNotes = showsNotes
        }
    }

    /// How severe a line is.
    public enum Severity: Sendable {
        case note, warning, error
    }

    /// A receiver of the lines that are shown; standard error unless replaced.
    public typealias Sink = @Sendable (_ line: String) -> Void

    private struct State {
        var settings = Settings()
        var sink: Sink = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
    private static let state = Mutex(State())

    /// The settings in force.
    public static var settings: Settings {
        get { state.withLock { $0.settings } }
        set { state.withLock { $0.settings = newValue } }
    }

    /// Replaces where shown lines go for the whole process; returns the previous sink.
    @discardableResult
    public static func setSink(_ sink: @escaping Sink) -> Sink {
        state.withLock { state in
            let previous = state.sink
            state.sink = sink
            return previous
        }
    }

    /// Where lines go within one task and its child tasks, instead of the process's sink, with
    /// every line kept whatever the settings: tests collect what a library said without
    /// disturbing other tests running at the same time. (A class, as ``Recorder`` is: an optional
    /// closure as the task-local's type crashed optimized builds of Swift 6.3.1 in
    /// swift_task_localValuePush; `strata build` without `--locked` crashed in release builds.)
    public final class Collector: Sendable {
        public let sink: Sink
        public init(_ sink: @escaping Sink) { self.sink = sink }
    }
    @TaskLocal public static var collector: Collector?

    /// Called with every line said within one task and its child tasks, besides showing it: a
    /// cached result keeps what computing it said, to say it again when it is reused.
    /// (A class, not an optional closure, as the task-local's type: with the closure type, an
    /// optimized build of Swift 6.3 crashed in swift_task_localValuePush binding it in async code.)
    public final class Recorder: Sendable {
        public let record: @Sendable (_ severity: Severity, _ message: String) -> Void
        public init(_ record: @escaping @Sendable (_ severity: Severity, _ message: String) -> Void) {
            self.record = record
        }
    }
    @TaskLocal public static var recorder: Recorder?

    /// Tells the user about something that may need their attention; the command goes on.
    /// - Parameter message: one line, naming the file, URL or repository concerned.
    public static func warning(_ message: String) { emit(.warning, message) }

    /// Tells the user about normal progress, when the command shows notes.
    public static func note(_ message: String) { emit(.note, message) }

    /// Prints `message` as `strata: warning: …` (or `strata proxy: …` for `speaker: "strata proxy"`),
    /// unless the settings drop it.
    public static func emit(_ severity: Severity, _ message: String, speaker: String = "strata") {
        recorder?.record(severity, message)
        if let collector {
            collector.sink(line(severity, message, speaker: speaker, settings: Settings(showsNotes: true)) ?? message)
            return
        }
        let (settings, sink) = state.withLock { ($0.settings, $0.sink) }
        if let text = line(severity, message, speaker: speaker, settings: settings) { sink(text) }
    }

    /// The line shown for a message under `settings`, or `nil` when it is dropped.
    public static func line(_ severity: Severity, _ message: String, speaker: String = "strata", settings: Settings)
        -> String?
    {
        switch severity {
        case .note: settings.showsNotes ? "\(speaker): \(message)" : nil
        case .warning: settings.quiet ? nil : "\(speaker): warning: \(message)"
        case .error: "\(speaker): error: \(message)"
        }
    }
}

/// A swift-log handler that prints through ``Diagnostics``: `strata: warning: …` for a logger
/// labelled `strata`, `strata proxy: warning: …` for `strata.proxy`. Metadata is appended as
/// `key=value`. The executable bootstraps it once.
public struct DiagnosticsLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    private let speaker: String

    public init(label: String) {
        speaker = label.split(separator: ".").joined(separator: " ")
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let severity: Diagnostics.Severity =
            switch event.level {
            case .trace, .debug, .info, .notice: .note
            case .warning: .warning
            case .error, .critical: .error
            }
        // Below info is for developers; a person never sees it.
        if event.level < .info { return }
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let suffix =
            all.isEmpty
            ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        Diagnostics.emit(severity, "\(event.message)\(suffix)", speaker: speaker)
    }
}
