/// How `JSONValue.serialized` lays out a document.
public struct JSONFormat: Sendable, Equatable {
    /// Written once per nesting level at the start of each item's line; nil keeps the document
    /// on one line.
    public var indent: String?
    /// Between array items and object members (before the newline, when indenting).
    public var itemSeparator: String
    /// Between an object key and its value.
    public var keySeparator: String
    /// Object members in code point order of their keys instead of their stored order.
    public var sortKeys: Bool

    public init(indent: String? = nil, itemSeparator: String = ",", keySeparator: String = ":", sortKeys: Bool = false) {
        self.indent = indent
        self.itemSeparator = itemSeparator
        self.keySeparator = keySeparator
        self.sortKeys = sortKeys
    }

    /// No whitespace at all.
    public static let compact = JSONFormat()

    /// Python's `json.dumps(value, ensure_ascii=False, indent=…, sort_keys=…)`: `", "` and `": "`
    /// on one line, `","` and `": "` when indenting (what jinja2's `tojson` writes).
    public static func python(indent: String? = nil, sortKeys: Bool = false) -> JSONFormat {
        JSONFormat(indent: indent, itemSeparator: indent == nil ? ", " : ",", keySeparator: ": ", sortKeys: sortKeys)
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact serialization.
    public var description: String { serialized() }

    /// The document as text. Strings keep non-ASCII characters as they are (UTF-8 on the wire);
    /// numbers are written as their text.
    public func serialized(_ format: JSONFormat = .compact) -> String {
        var out = ""
        write(into: &out, format, level: 0)
        return out
    }

    private func write(into out: inout String, _ format: JSONFormat, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n.text
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += format.itemSeparator }
                Self.newline(&out, format, level + 1)
                item.write(into: &out, format, level: level + 1)
            }
            Self.newline(&out, format, level)
            out += "]"
        case .object(var members):
            if members.isEmpty { out += "{}"; return }
            if format.sortKeys { members.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } }
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += format.itemSeparator }
                Self.newline(&out, format, level + 1)
                JSONValue.appendQuoted(m.key, to: &out)
                out += format.keySeparator
                m.value.write(into: &out, format, level: level + 1)
            }
            Self.newline(&out, format, level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ format: JSONFormat, _ level: Int) {
        guard let indent = format.indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    /// `s` as a JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    /// Appends `s` as a JSON string literal, escaping only what JSON requires: `"`, `\` and
    /// the control characters below U+0020 (`\n`, `\r`, `\t`, `\b`, `\f` by name, the rest as
    /// `\u00xx` in lower-case hex, as Python writes them). Everything else is copied as is.
    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
