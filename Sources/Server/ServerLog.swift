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

/// The server's log lines, one per line: a JSON object with `--log-format json` (the default),
/// else `LEVEL message key=value …`. They go to stdout (as llama-server's) unless
/// `--log-disable`, and also to `--log-file` when given; `-lv N` drops lines above verbosity N
/// (llama-server's levels: 1 error, 2 warning, 3 info, 4 debug).
public struct ServerLog: Sendable {
    public let json: Bool
    /// `-lv`: lines whose level is above this are dropped (3, info, by default; `-v` is all).
    public var verbosity: Int
    /// False with `--log-disable`.
    public var console: Bool
    /// `--log-file`, opened by `openFile`.
    public var fileDescriptor: Int32?

    public static let defaultVerbosity = 3

    public init(json: Bool, verbosity: Int = ServerLog.defaultVerbosity, console: Bool = true,
                fileDescriptor: Int32? = nil) {
        self.json = json
        self.verbosity = verbosity
        self.console = console
        self.fileDescriptor = fileDescriptor
    }

    /// Opens (and empties, as llama-server does) the `--log-file`; throws a message naming it.
    public static func openFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogFileError(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    public func error(_ message: String, _ fields: [String: String] = [:]) { write(.error, message, fields) }
    public func warn(_ message: String, _ fields: [String: String] = [:]) { write(.warning, message, fields) }
    public func info(_ message: String, _ fields: [String: String] = [:]) { write(.info, message, fields) }
    public func debug(_ message: String, _ fields: [String: String] = [:]) { write(.debug, message, fields) }

    /// Whether lines of `level` are written anywhere.
    func writes(_ level: Level) -> Bool { (console || fileDescriptor != nil) && level.rawValue <= verbosity }

    /// llama-server's verbosity levels.
    enum Level: Int {
        case error = 1, warning, info, debug

        var name: String {
            switch self {
            case .error: "ERROR"
            case .warning: "WARN"
            case .info: "INFO"
            case .debug: "DEBUG"
            }
        }
    }

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

    private func write(_ level: Level, _ message: String, _ fields: [String: String]) {
        guard writes(level) else { return }
        let bytes = Array((line(level.name, message, fields) + "\n").utf8)
        if console { Self.writeAll(bytes, to: STDOUT_FILENO) }
        if let fileDescriptor { Self.writeAll(bytes, to: fileDescriptor) }
    }

    /// One write(2) per line, so lines from concurrent requests never interleave. Errors are
    /// ignored: a closed stdout or a full disk must not take the server down (FileHandle.write
    /// would trap).
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}

/// `--log-file PATH` could not be opened.
public struct LogFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot open --log-file \(path): \(reason)" }
}

/// Routes swift-log messages (Hummingbird's own lines) through a `ServerLog`, so that with
/// `--log-format json` every line the server prints is JSON.
public struct ServerLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let log: ServerLog

    public init(_ log: ServerLog) {
        self.log = log
        logLevel = log.verbosity > ServerLog.defaultVerbosity ? .debug : .info
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(extra ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        switch level {
        case .trace, .debug: log.debug(message.description, fields)
        case .info, .notice: log.info(message.description, fields)
        case .warning: log.warn(message.description, fields)
        case .error, .critical: log.error(message.description, fields)
        }
    }
}
