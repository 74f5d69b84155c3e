import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// write(2) of the C library this platform has (named apart from `ServerLog.write`).
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}

/// The server's log lines on stdout (llama-server logs to stdout), one per line: a JSON object
/// with `--log-format json` (the default), else `LEVEL message key=value …`.
public struct ServerLog: Sendable {
    public let json: Bool

    public init(json: Bool) { self.json = json }

    public func info(_ message: String, _ fields: [String: String] = [:]) { write("INFO", message, fields) }
    public func warn(_ message: String, _ fields: [String: String] = [:]) { write("WARN", message, fields) }
    public func error(_ message: String, _ fields: [String: String] = [:]) { write("ERROR", message, fields) }

    /// One line of text; fields are sorted so lines compare stably.
    func line(_ level: String, _ message: String, _ fields: [String: String], time: Date = Date()) -> String {
        if json {
            var object: [String: String] = fields
            object["level"] = level
            object["msg"] = message
            object["timestamp"] = "\(Int(time.timeIntervalSince1970))"
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        return "\(level) \(message)" + fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
    }

    private func write(_ level: String, _ message: String, _ fields: [String: String]) {
        // One write(2) per line, so lines from concurrent requests never interleave. Errors are
        // ignored: a closed stdout must not take the server down (FileHandle.write would trap).
        let bytes = Array((line(level, message, fields) + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = systemWrite(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}

/// Routes swift-log messages (Hummingbird's own lines) through a `ServerLog`, so that with
/// `--log-format json` every line the server prints is JSON.
public struct ServerLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let log: ServerLog

    public init(_ log: ServerLog) { self.log = log }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(extra ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        switch level {
        case .trace, .debug, .info, .notice: log.info(message.description, fields)
        case .warning: log.warn(message.description, fields)
        case .error, .critical: log.error(message.description, fields)
        }
    }
}
