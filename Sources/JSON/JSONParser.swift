/// A JSON syntax error, with the byte offset where reading stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let message: String
    public var description: String { "invalid JSON at offset \(offset): \(message)" }
}

extension JSONValue {
    /// Most nested arrays and objects a document may have. Parsing, printing, comparing and
    /// freeing a value recurse once per level, on request handler threads with small stacks.
    public static let maxNestingDepth = 512

    /// Parses one JSON document (RFC 8259, surrounding whitespace allowed). Strings must not
    /// hold raw control characters or unpaired surrogate escapes; numbers must follow the
    /// grammar exactly (`01`, `1.`, `+1`, `NaN` are errors).
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(validUTF8: Array(text.utf8))
    }

    /// Parses bytes that should be a UTF-8 JSON document; ill-formed UTF-8 is an error at the
    /// first bad byte rather than being replaced, which would silently change strings.
    public static func parse(utf8 bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        if let bad = firstInvalidUTF8Offset(bytes) { throw JSONParseError(offset: bad, message: "invalid UTF-8") }
        return try parse(validUTF8: bytes)
    }

    private static func parse(validUTF8 bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        var p = JSONParser(bytes: bytes)
        p.skipWhitespace()
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        guard p.pos == p.bytes.count else { throw p.error("unexpected trailing characters") }
        return v
    }

    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): offset += UTF8.width(s)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}

/// Recursive descent over the bytes of one document.
struct JSONParser {
    let bytes: [UInt8]
    var pos = 0

    /// Whether `text` is exactly one JSON number.
    static func isNumber(_ text: String) -> Bool {
        var p = JSONParser(bytes: Array(text.utf8))
        guard (try? p.number()) != nil else { return false }
        return p.pos == p.bytes.count
    }

    func error(_ m: String) -> JSONParseError { JSONParseError(offset: pos, message: m) }

    mutating func skipWhitespace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 { pos += 1 }
    }

    mutating func literal(_ word: String, _ v: JSONValue) throws(JSONParseError) -> JSONValue {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, bytes[pos..<(pos + w.count)].elementsEqual(w) else { throw error("invalid literal") }
        pos += w.count
        return v
    }

    /// `depth`: containers around this value.
    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < JSONValue.maxNestingDepth else { throw error("nesting too deep (more than \(JSONValue.maxNestingDepth) levels)") }
        guard pos < bytes.count else { throw error("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "{"): return try object(depth: depth)
        default: return .number(try number())
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            guard pos < bytes.count else { throw error("unterminated array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        pos += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected ':'") }
            pos += 1
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard pos < bytes.count else { throw error("unterminated object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
            throw error("expected ',' or '}'")
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as written.
    mutating func number() throws(JSONParseError) -> JSONNumber {
        let start = pos
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < bytes.count && bytes[p] >= UInt8(ascii: "0") && bytes[p] <= UInt8(ascii: "9") { p += 1 }
            return p - s
        }
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count, bytes[pos] >= UInt8(ascii: "0") && bytes[pos] <= UInt8(ascii: "9") else { throw error("invalid value") }
        if bytes[pos] == UInt8(ascii: "0") { pos += 1 } else { _ = digits(&pos) }
        if pos < bytes.count && bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard digits(&pos) > 0 else { throw error("expected digits after '.'") }
        }
        if pos < bytes.count && (bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")) {
            pos += 1
            if pos < bytes.count && (bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard digits(&pos) > 0 else { throw error("expected exponent digits") }
        }
        return JSONNumber(verifiedText: String(decoding: bytes[start..<pos], as: UTF8.self))
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// A string literal starting at the opening quote. Runs without escapes are copied whole.
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
            if b == UInt8(ascii: "\"") { flush(pos, &scalars); pos += 1; return String(scalars) }
            if b < 0x20 { throw error("control character in string") }
            if b != UInt8(ascii: "\\") { pos += 1; continue }
            flush(pos, &scalars)
            pos += 1
            guard pos < bytes.count else { throw error("unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"): scalars.append(try unicodeEscape())
            default: throw error("invalid escape")
            }
            runStart = pos
        }
    }

    /// After `\u`: four hex digits, or a surrogate pair `\uD8xx\uDCxx`; a lone surrogate is an error.
    mutating func unicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        var v = try hex4()
        if v >= 0xD800 && v < 0xDC00, pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
            pos += 2
            let lo = try hex4()
            guard lo >= 0xDC00 && lo < 0xE000 else { throw error("invalid surrogate pair") }
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
        }
        guard let u = Unicode.Scalar(v) else { throw error("lone surrogate in string") }
        return u
    }
}
