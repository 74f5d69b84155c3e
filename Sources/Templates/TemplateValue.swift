import Foundation

/// A JSON-like value passed into templates (messages, tools, extra variables).
///
/// Objects keep their key order, because templates serialize them with `tojson`
/// and jinja2 (Python dicts) preserves insertion order; Foundation's
/// `JSONSerialization` loses it, so use `TemplateValue(jsonData:)` to parse request
/// bodies when byte-exact prompts matter.
public enum TemplateValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    /// Ordered key/value pairs (later duplicates replace earlier values, as in Python).
    case object([(String, TemplateValue)])

    public static func == (a: TemplateValue, b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Member lookup for objects (nil for other cases or missing keys).
    public subscript(key: String) -> TemplateValue? {
        if case .object(let pairs) = self { return pairs.last(where: { $0.0 == key })?.1 }
        return nil
    }

    public var description: String { RuntimeValue.from(self).pythonRepr }

    /// Converts the output of Foundation's `JSONSerialization` (or plain Swift
    /// dictionaries/arrays/scalars). Dictionary key order is not recoverable from
    /// `NSDictionary`, so keys are sorted to keep output deterministic.
    public init(any value: Any?) {
        guard let value else { self = .null; return }
        switch value {
        case is NSNull: self = .null
        case let v as TemplateValue: self = v
        case let s as String: self = .string(s)
        case let n as NSNumber:
            // NSNumber bridges Bool, Int and Double; distinguish by the objCType.
            // NSNumber bridges Bool, Int and Double; booleans report objCType "c".
            let type = String(cString: n.objCType)
            if type == "c" || type == "B" {
                self = .bool(n.boolValue)
            } else if type == "d" || type == "f" {
                self = .double(n.doubleValue)
            } else {
                self = .int(n.intValue)
            }
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let a as [Any?]: self = .array(a.map { TemplateValue(any: $0) })
        case let a as [Any]: self = .array(a.map { TemplateValue(any: $0) })
        case let d as [String: Any?]: self = .object(d.keys.sorted().map { ($0, TemplateValue(any: d[$0] ?? nil)) })
        case let d as [String: Any]: self = .object(d.keys.sorted().map { ($0, TemplateValue(any: d[$0])) })
        default: self = .string(String(describing: value))
        }
    }

    /// Parses JSON text, preserving object key order.
    public init(json: String) throws {
        var p = JSONReader(Array(json.utf8))
        self = try p.parseDocument()
    }

    /// Parses JSON bytes, preserving object key order.
    public init(jsonData: Data) throws {
        var p = JSONReader(Array(jsonData))
        self = try p.parseDocument()
    }

    /// Serializes as compact-but-spaced JSON (`json.dumps` defaults, non-ASCII kept).
    public var jsonString: String {
        var out = ""
        JSONWriter.write(RuntimeValue.from(self), into: &out, indent: nil, sortKeys: false, level: 0)
        return out
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .object(elements) }
    public init(nilLiteral: ()) { self = .null }
}

/// Minimal order-preserving JSON parser (RFC 8259), used for request bodies and test data.
struct JSONReader {
    private let b: [UInt8]
    private var i = 0
    private var depth = 0

    init(_ bytes: [UInt8]) { b = bytes }

    private func fail(_ msg: String) -> TemplateError { TemplateError(.syntax, "invalid JSON at byte \(i): \(msg)") }

    private mutating func skipWS() {
        while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 { i += 1 }
    }

    mutating func parseDocument() throws -> TemplateValue {
        let v = try parseValue()
        skipWS()
        guard i == b.count else { throw fail("trailing characters") }
        return v
    }

    private mutating func parseValue() throws -> TemplateValue {
        skipWS()
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            depth += 1
            guard depth < 512 else { throw fail("nesting too deep") }
            defer { depth -= 1 }
            i += 1
            var pairs: [(String, TemplateValue)] = []
            skipWS()
            if i < b.count && b[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipWS()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected key") }
                let k = try parseString()
                skipWS()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                let v = try parseValue()
                if let idx = pairs.firstIndex(where: { $0.0 == k }) { pairs[idx].1 = v } else { pairs.append((k, v)) }
                skipWS()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            guard depth < 512 else { throw fail("nesting too deep") }
            defer { depth -= 1 }
            i += 1
            var items: [TemplateValue] = []
            skipWS()
            if i < b.count && b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try parseValue())
                skipWS()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            return try parseNumber()
        }
    }

    private mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { throw fail("bad literal") }
        i += w.count
    }

    private mutating func parseNumber() throws -> TemplateValue {
        let start = i
        var isFloat = false
        if i < b.count && b[i] == UInt8(ascii: "-") { i += 1 }
        while i < b.count {
            let c = b[i]
            if c >= 48 && c <= 57 { i += 1 } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { isFloat = true; i += 1 } else { break }
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        if !isFloat, let n = Int(text) { return .int(n) }
        guard let d = Double(text) else { throw fail("bad number") }
        return .double(d)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else { throw fail("bad \\u escape") }
        i += 4
        return v
    }

    private mutating func parseString() throws -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < b.count else { throw fail("bad escape") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "/"): out.append(47)
                case UInt8(ascii: "\\"): out.append(92)
                case UInt8(ascii: "\""): out.append(34)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800 && v < 0xDC00, i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let lo = try hex4()
                        if lo >= 0xDC00 && lo < 0xE000 { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) } else { v = 0xFFFD }
                    }
                    let scalar = UnicodeScalar(v) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("bad escape")
                }
                continue
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
