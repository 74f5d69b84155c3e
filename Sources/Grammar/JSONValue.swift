/// A parsed JSON document that keeps object keys in their written order and
/// numbers as their original text.
///
/// Foundation's `JSONSerialization` loses key order, but the order of
/// `properties` decides the order in which a constrained model emits keys, so
/// schemas are parsed with this small parser instead.
public indirect enum JSONValue: Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// The number exactly as written (e.g. `1.50`, `-3e2`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    /// Upper bound on nested arrays and objects. Parsing, printing and freeing a value
    /// recurse per level, on request handler threads with small stacks.
    public static let maxNestingDepth = 512

    /// Parses one JSON document (surrounding whitespace allowed).
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var p = JSONTextParser(bytes: Array(text.utf8))
        p.skipWS()
        let v = try p.value(depth: 0)
        p.skipWS()
        guard p.pos == p.bytes.count else { throw p.error("unexpected trailing characters") }
        return v
    }

    /// Member lookup for objects (first occurrence); nil for other values.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var objectMembers: [(key: String, value: JSONValue)]? {
        if case .object(let m) = self { return m }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    /// Numeric value as a Double (nil for non-numbers).
    public var doubleValue: Double? {
        if case .number(let t) = self { return Double(t) }
        return nil
    }

    /// Compact serialization (no whitespace); strings keep non-ASCII as UTF-8.
    public var description: String { serialized() }

    /// Serializes the value. With `indent > 0`, objects and arrays are spread
    /// over lines like `json.dumps(indent=…)`, and `": "` separates keys.
    public func serialized(indent: Int = 0) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, indent: Int, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let t): out += t
        case .string(let s): out += JSONValue.quote(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                if indent > 0 { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                v.write(into: &out, indent: indent, level: level + 1)
            }
            if indent > 0 { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                if indent > 0 { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                out += JSONValue.quote(m.key)
                out += indent > 0 ? ": " : ":"
                m.value.write(into: &out, indent: indent, level: level + 1)
            }
            if indent > 0 { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "}"
        }
    }

    /// JSON string literal for `s`, escaping only what JSON requires.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    out += "\\u" + String(u.value, radix: 16).leftPadded(4)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

/// A JSON syntax error with its byte offset.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let message: String
    public var description: String { "invalid JSON at offset \(offset): \(message)" }
}

private struct JSONTextParser {
    let bytes: [UInt8]
    var pos = 0

    func error(_ m: String) -> JSONParseError { JSONParseError(offset: pos, message: m) }

    mutating func skipWS() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 { pos += 1 }
    }

    mutating func expectWord(_ w: String, _ v: JSONValue) throws(JSONParseError) -> JSONValue {
        let u = Array(w.utf8)
        guard pos + u.count <= bytes.count, Array(bytes[pos..<(pos + u.count)]) == u else { throw error("invalid literal") }
        pos += u.count
        return v
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < JSONValue.maxNestingDepth else { throw error("nesting too deep (more than \(JSONValue.maxNestingDepth) levels)") }
        guard pos < bytes.count else { throw error("unexpected end of input") }
        switch bytes[pos] {
        case 0x6E: return try expectWord("null", .null)
        case 0x74: return try expectWord("true", .bool(true))
        case 0x66: return try expectWord("false", .bool(false))
        case 0x22: return .string(try string())
        case 0x5B:
            pos += 1
            var items: [JSONValue] = []
            skipWS()
            if pos < bytes.count && bytes[pos] == 0x5D { pos += 1; return .array(items) }
            while true {
                skipWS()
                items.append(try value(depth: depth + 1))
                skipWS()
                guard pos < bytes.count else { throw error("unterminated array") }
                if bytes[pos] == 0x2C { pos += 1; continue }
                if bytes[pos] == 0x5D { pos += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case 0x7B:
            pos += 1
            var members: [(key: String, value: JSONValue)] = []
            skipWS()
            if pos < bytes.count && bytes[pos] == 0x7D { pos += 1; return .object(members) }
            while true {
                skipWS()
                guard pos < bytes.count, bytes[pos] == 0x22 else { throw error("expected a string key") }
                let k = try string()
                skipWS()
                guard pos < bytes.count, bytes[pos] == 0x3A else { throw error("expected ':'") }
                pos += 1
                skipWS()
                members.append((k, try value(depth: depth + 1)))
                skipWS()
                guard pos < bytes.count else { throw error("unterminated object") }
                if bytes[pos] == 0x2C { pos += 1; continue }
                if bytes[pos] == 0x7D { pos += 1; return .object(members) }
                throw error("expected ',' or '}'")
            }
        default:
            return .number(try number())
        }
    }

    mutating func number() throws(JSONParseError) -> String {
        let start = pos
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < bytes.count && bytes[p] >= 0x30 && bytes[p] <= 0x39 { p += 1 }
            return p - s
        }
        if pos < bytes.count && bytes[pos] == 0x2D { pos += 1 }
        guard pos < bytes.count, bytes[pos] >= 0x30 && bytes[pos] <= 0x39 else { throw error("invalid value") }
        if bytes[pos] == 0x30 { pos += 1 } else { _ = digits(&pos) }
        if pos < bytes.count && bytes[pos] == 0x2E {
            pos += 1
            guard digits(&pos) > 0 else { throw error("expected digits after '.'") }
        }
        if pos < bytes.count && (bytes[pos] == 0x65 || bytes[pos] == 0x45) {
            pos += 1
            if pos < bytes.count && (bytes[pos] == 0x2B || bytes[pos] == 0x2D) { pos += 1 }
            guard digits(&pos) > 0 else { throw error("expected exponent digits") }
        }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    mutating func string() throws(JSONParseError) -> String {
        pos += 1
        var scalars = String.UnicodeScalarView()
        var runStart = pos
        func flush(_ upTo: Int, _ scalars: inout String.UnicodeScalarView) {
            if upTo > runStart { scalars.append(contentsOf: String(decoding: bytes[runStart..<upTo], as: UTF8.self).unicodeScalars) }
        }
        while true {
            guard pos < bytes.count else { throw error("unterminated string") }
            let b = bytes[pos]
            if b == 0x22 { flush(pos, &scalars); pos += 1; return String(scalars) }
            if b < 0x20 { throw error("control character in string") }
            if b != 0x5C { pos += 1; continue }
            flush(pos, &scalars)
            pos += 1
            guard pos < bytes.count else { throw error("unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case 0x22: scalars.append("\"")
            case 0x5C: scalars.append("\\")
            case 0x2F: scalars.append("/")
            case 0x62: scalars.append("\u{08}")
            case 0x66: scalars.append("\u{0C}")
            case 0x6E: scalars.append("\n")
            case 0x72: scalars.append("\r")
            case 0x74: scalars.append("\t")
            case 0x75:
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00, pos + 6 <= bytes.count, bytes[pos] == 0x5C, bytes[pos + 1] == 0x75 {
                    pos += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw error("invalid surrogate pair") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                }
                guard let u = Unicode.Scalar(v) else { throw error("lone surrogate in string") }
                scalars.append(u)
            default: throw error("invalid escape")
            }
            runStart = pos
        }
    }
}
