/// The single error type thrown by the Templates module: syntax errors found while
/// parsing, `raise_exception(...)` calls made by the template itself, and runtime
/// errors (type errors, undefined values used in ways jinja2 rejects, limits hit).
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Which family of failure this is; mirrors the Python exception classes jinja2 raises.
    public enum Kind: String, Sendable {
        /// Malformed template source (jinja2 `TemplateSyntaxError` / `TemplateAssertionError`).
        case syntax
        /// The template called `raise_exception(message)` (transformers' `TemplateError`).
        case raised
        /// An operation on incompatible types (Python `TypeError`/`ValueError`).
        case type
        /// An undefined value was used where jinja2 raises `UndefinedError`.
        case undefined
        /// A safety limit (recursion depth, loop iterations, output size) was exceeded.
        case limit
    }

    public let kind: Kind
    /// For `.raised` this is exactly the template's text; otherwise a descriptive message.
    public let message: String
    /// 1-based line of the construct that failed (0 when unknown).
    public let line: Int
    /// 1-based column of the construct that failed (0 when unknown).
    public let column: Int

    public init(_ kind: Kind, _ message: String, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        line > 0 ? "\(kind.rawValue) error at \(line):\(column): \(message)" : "\(kind.rawValue) error: \(message)"
    }

    /// Returns a copy that carries a position, unless one is already set (the innermost wins).
    func at(_ line: Int, _ column: Int) -> TemplateError {
        self.line > 0 ? self : TemplateError(kind, message, line: line, column: column)
    }
}
