import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A swift-log handler that writes one JSON object a line to standard error, the shape log
/// collectors (docker, journald, Loki) parse without configuration.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        emit(level: event.level, message: event.message, explicit: event.metadata, error: event.error)
    }

    private func emit(level: Logger.Level, message: Logger.Message, explicit: Logger.Metadata?, error: (any Error)?) {
        var fields: [(String, String)] = [
            ("time", Self.timestamp()),
            ("level", level.rawValue),
            ("logger", label),
            ("message", message.description),
        ]
        var merged = explicit.map { metadata.merging($0) { $1 } } ?? metadata
        // The request being served, on every line logged while it is (`RequestID`).
        if merged["requestId"] == nil, let request = RequestID.current { merged["requestId"] = .string(request) }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            fields.append((key, value.description))
        }
        if let error { fields.append(("error", String(describing: error))) }
        var line = "{"
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { line += "," }
            line += JSONText.quoted(key) + ":" + JSONText.quoted(value)
        }
        line += "}\n"
        // One write(2) a line: lines from several threads never interleave.
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    private static func timestamp() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Installs JSON logging for the process at the given level; called once at start-up.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
    }
}

/// JSON string quoting for log lines and error bodies.
public enum JSONText {
    public static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
