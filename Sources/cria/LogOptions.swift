import ArgumentParser
import Server

/// `cria serve`'s logging flags: the spec's `--log-disable` and `--log-format`, and today's
/// llama-server `--log-file`, `-lv`, and its display flags (accepted; Cria's lines have no
/// colours and always carry a timestamp in JSON).
struct LogOptions: ParsableArguments {
    @Flag(name: .customLong("log-disable"), help: "Write no log lines at all (as today's llama-server).")
    var disable = false
    @Option(name: .customLong("log-file"), help: "Also write every log line to this file (emptied first).")
    var file: String?
    @Option(name: .customLong("log-format"), help: "Log format: json or text.")
    var format = "json"
    @Option(name: [.customLong("lv", withSingleDash: true), .customLong("verbosity"), .customLong("log-verbosity")],
            help: "Drop log lines above this level: 0 none, 1 errors, 2 warnings, 3 info (default), 4 debug.")
    var verbosity: Int?
    @Option(name: .customLong("log-colors"), help: "on, off or auto (accepted; cria's log lines have no colours).")
    var colors: String?
    @Flag(name: .customLong("log-prefix"), inversion: .prefixedNo, help: "Accepted; no effect (lines always carry their level).")
    var prefix = true
    @Flag(name: .customLong("log-timestamps"), inversion: .prefixedNo, help: "Accepted; no effect.")
    var timestamps = true

    func validate() throws {
        if !["json", "text"].contains(format) { throw ValidationError("--log-format must be json or text") }
        if let verbosity, verbosity < 0 { throw ValidationError("-lv must be 0 or more, got \(verbosity)") }
        if let colors, !["on", "off", "auto", "true", "false", "1", "0", "enabled", "disabled"].contains(colors.lowercased()) {
            throw ValidationError("--log-colors must be on, off or auto, got '\(colors)'")
        }
    }

    /// The log these flags ask for; `verbose` (`-v`) logs everything, as llama-server's.
    func makeLog(verbose: Bool) throws -> ServerLog {
        let fd = try file.map { path in
            do { return try ServerLog.openFile(path) } catch { throw ValidationError("\(error)") }
        }
        return ServerLog(json: format == "json", verbosity: verbose ? Int.max : verbosity ?? ServerLog.defaultVerbosity,
                         console: !disable, fileDescriptor: fd)
    }
}
