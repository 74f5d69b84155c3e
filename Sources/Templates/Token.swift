/// A lexical token of a Jinja template: either a run of literal text or a piece of
/// the expression language inside `{{ }}` / `{% %}` delimiters.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        /// Literal template text, already adjusted for whitespace control.
        case text(String)
        case variableBegin, variableEnd
        case blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// Operators and punctuation (`+`, `//`, `==`, `(`, `|`, ...).
        case op(String)
        case eof
    }

    let kind: Kind
    let line: Int
    let column: Int

    /// True when this is the operator/punctuation `s`.
    func isOp(_ s: String) -> Bool {
        if case .op(let o) = kind { return o == s }
        return false
    }

    /// True when this is the bare name (identifier/keyword) `s`.
    func isName(_ s: String) -> Bool {
        if case .name(let n) = kind { return n == s }
        return false
    }

    var nameValue: String? {
        if case .name(let n) = kind { return n }
        return nil
    }

    /// Human-readable description used in syntax error messages.
    var describe: String {
        switch kind {
        case .text: return "template text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .integer(let i): return "integer \(i)"
        case .float(let d): return "float \(d)"
        case .op(let o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }
}
