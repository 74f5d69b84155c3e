/// Why a JSON Schema could not be turned into a grammar.
///
/// `description` is suitable for an HTTP 400 message.
public enum SchemaConversionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The schema text is not valid JSON.
    case invalidJSON(String)
    /// A keyword that would change which documents are valid is not supported
    /// (e.g. `not`, `uniqueItems`); `path` is a JSON pointer to the schema.
    case unsupportedKeyword(String, path: String)
    /// The schema is malformed or unsatisfiable (e.g. `minimum` > `maximum`).
    case invalidSchema(String, path: String)
    /// A `$ref` that does not resolve inside the document.
    case unresolvedReference(String, path: String)
    /// A `pattern` that uses unsupported regex features or is malformed.
    case invalidPattern(String, String)

    public var description: String {
        switch self {
        case .invalidJSON(let m): return "invalid JSON schema: \(m)"
        case .unsupportedKeyword(let k, let p): return "unsupported JSON schema keyword '\(k)' at \(p.isEmpty ? "#" : p)"
        case .invalidSchema(let m, let p): return "invalid JSON schema at \(p.isEmpty ? "#" : p): \(m)"
        case .unresolvedReference(let r, let p): return "unresolved $ref '\(r)' at \(p.isEmpty ? "#" : p)"
        case .invalidPattern(let pat, let m): return "unsupported pattern '\(pat)': \(m)"
        }
    }
}
