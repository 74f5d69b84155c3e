import Foundation
import JSON

/// Mutable list storage: Python lists are reference objects (`list.append` inside a
/// loop must be visible through every name bound to the list).
final class ListBox {
    var items: [Value]
    /// Tuples render as `(a, b)` instead of `[a, b]`.
    let isTuple: Bool
    init(_ items: [Value], isTuple: Bool = false) { self.items = items; self.isTuple = isTuple }

    deinit { ValueRelease.drain(&items) }
}

/// Hashable identity of a dict key with Python's equality rules (`1 == 1.0 == True`).
struct DictKey: Hashable {
    private enum K: Hashable { case str(String), int(Int), double(Double), none, other(String) }
    private let k: K

    init(_ s: String) { k = .str(s) }
    init(_ v: Value) {
        switch v.demoted {
        case .string(let s): k = .str(s)
        case .int(let i): k = .int(i)
        case .bool(let b): k = .int(b ? 1 : 0)
        case .double(let d):
            if d == d.rounded(), abs(d) < 9e18 { k = .int(Int(d)) } else { k = .double(d) }
        case .none: k = .none
        default: k = .other(v.pythonRepr)
        }
    }
}

/// Insertion-ordered dictionary (Python dict semantics). Keys are usually strings
/// (JSON data) but templates may build dicts with int keys, e.g. `{0: 'a', 512: 'b'}`.
final class DictBox {
    private(set) var keyValues: [Value] = []
    private var storage: [DictKey: Value] = [:]

    init() {}
    init(_ pairs: [(String, Value)]) {
        for (k, v) in pairs { self[k] = v }
    }
    init(entries: [(Value, Value)]) {
        for (k, v) in entries { self[value: k] = v }
    }

    var count: Int { keyValues.count }

    subscript(key: String) -> Value? {
        get { storage[DictKey(key)] }
        set { self[value: .string(key)] = newValue }
    }

    subscript(value key: Value) -> Value? {
        get { storage[DictKey(key)] }
        set {
            let dk = DictKey(key)
            if let newValue {
                if storage.updateValue(newValue, forKey: dk) == nil { keyValues.append(key.demoted) }
            } else if storage.removeValue(forKey: dk) != nil {
                keyValues.removeAll { DictKey($0) == dk }
            }
        }
    }

    /// Keys rendered as strings (for keyword-style uses and JSON object keys).
    var keys: [String] { keyValues.map { $0.pythonStr } }
    var pairs: [(String, Value)] { keyValues.map { ($0.pythonStr, storage[DictKey($0)] ?? .none) } }
    var entries: [(Value, Value)] { keyValues.map { ($0, storage[DictKey($0)] ?? .none) } }
    func copy() -> DictBox { DictBox(entries: entries) }

    deinit {
        var values = keyValues + storage.values
        keyValues = []
        storage = [:]
        ValueRelease.drain(&values)
    }

    /// Hands over every key and value, leaving the dict empty (for `ValueRelease`).
    fileprivate func takeAll() -> [Value] {
        let all = keyValues + storage.values
        keyValues = []
        storage = [:]
        return all
    }
}

/// Frees nested containers without recursion. Releasing a list normally releases its items
/// from inside its own deinit, so a list nested a million levels deep (easy to build with
/// `append` in a loop) would free itself a million frames deep. Instead, containers that are
/// about to die have their contents moved into one worklist first.
enum ValueRelease {
    static func drain(_ values: inout [Value]) {
        var pending = values
        values = []
        while var v = pending.popLast() {
            var list: ListBox?
            var dict: DictBox?
            switch v {
            case .list(let b): list = b
            case .dict(let b), .namespace(let b): dict = b
            default: continue
            }
            // Drop every other reference this loop holds, so the box is unique exactly when
            // nothing outside holds it (then it dies at the end of this iteration, empty).
            v = .none
            if var b = list {
                list = nil
                if isKnownUniquelyReferenced(&b) {
                    pending.append(contentsOf: b.items)
                    b.items = []
                }
            } else if var b = dict {
                dict = nil
                if isKnownUniquelyReferenced(&b) { pending.append(contentsOf: b.takeAll()) }
            }
        }
    }
}

/// Positional and keyword arguments of a runtime call.
struct Arguments {
    var positional: [Value] = []
    var keyword: [(String, Value)] = []

    /// Fetches parameter `name` at position `index`, from keywords or positionals.
    func get(_ index: Int, _ name: String) -> Value? {
        if let kw = keyword.first(where: { $0.0 == name }) { return kw.1 }
        return index < positional.count ? positional[index] : nil
    }
}

/// A callable: a global function, a bound method, a macro or `caller`.
final class FunctionBox {
    let name: String
    private(set) var call: (Arguments) throws -> Value
    init(name: String, _ call: @escaping (Arguments) throws -> Value) { self.name = name; self.call = call }

    /// Drops what the function captured. A macro captures the scope it is defined in, and that
    /// scope holds the macro: a reference cycle that would leak every render's scopes and AST
    /// unless the interpreter breaks it when the render ends.
    func dispose() {
        let name = self.name
        call = { _ in throw TemplateError(.type, "'\(name)' was called after its template finished rendering") }
    }
}

/// State of the innermost `{% for %}`, exposed to templates as `loop`.
final class LoopBox {
    let items: [Value]
    var index0 = 0
    let depth0: Int
    /// Set for `{% for ... recursive %}`: calling `loop(xs)` renders the body for `xs`.
    var recurse: ((Value) throws -> Value)?
    init(items: [Value], depth0: Int) { self.items = items; self.depth0 = depth0 }
}

/// The interpreter's runtime value, mirroring the Python objects jinja2 manipulates.
enum Value {
    /// jinja2's lenient `Undefined`; carries a hint for error messages.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// jinja2 `Markup` (from `|safe`, `|escape`): a str whose `+` HTML-escapes plain-str operands.
    case markup(String)
    case list(ListBox)
    case dict(DictBox)
    /// `namespace(...)` object: attribute-assignable from inside loops.
    case namespace(DictBox)
    case function(FunctionBox)
    case loop(LoopBox)

    /// A JSON value as the Python object `json.loads` makes of it: a number written as an
    /// integer that fits in `Int` becomes an int and any other number a float; an object becomes
    /// a dict, so a repeated key keeps its first position and its last value.
    init(_ json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .number(let n): self = n.integer.map(Value.int) ?? .double(n.double)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(ListBox(items.map(Value.init)))
        case .object(let members): self = .dict(DictBox(members.map { ($0.key, Value($0.value)) }))
        }
    }

    static func list(_ items: [Value]) -> Value { .list(ListBox(items)) }
    static func tuple(_ items: [Value]) -> Value { .list(ListBox(items, isTuple: true)) }

    /// Markup behaves as a plain string everywhere except `+`; most operations use this view.
    var demoted: Value {
        if case .markup(let s) = self { return .string(s) }
        return self
    }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }
    var isNone: Bool { if case .none = self { return true }; return false }

    /// Python type name, for error messages worded like Python's.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list(let l): return l.isTuple ? "tuple" : "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        case .loop: return "LoopContext"
        }
    }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .function, .loop: return true
        }
    }

    /// `str(value)` as jinja2 prints it with `{{ }}`.
    var pythonStr: String {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        default: return pythonRepr
        }
    }

    /// Python `repr(value)`, used when containers are printed. Containers deeper than
    /// `ValueLimits.maxDepth` (a list that contains itself is infinitely deep) print as
    /// `[...]`, like Python's recursive repr, and after `ValueLimits.maxNodes` elements the
    /// rest prints as `...`.
    var pythonRepr: String {
        var budget = ValueLimits.maxNodes
        return repr(depth: 0, budget: &budget)
    }

    private func repr(depth: Int, budget: inout Int) -> String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return Value.formatFloat(d)
        case .string(let s): return Value.reprString(s)
        case .markup(let s): return "Markup(\(Value.reprString(s)))"
        case .list(let l):
            if depth >= ValueLimits.maxDepth { return l.isTuple ? "(...)" : "[...]" }
            var parts: [String] = []
            for item in l.items {
                if budget <= 0 { parts.append("..."); break }
                budget -= 1
                parts.append(item.repr(depth: depth + 1, budget: &budget))
            }
            let inner = parts.joined(separator: ", ")
            if l.isTuple { return l.items.count == 1 ? "(\(inner),)" : "(\(inner))" }
            return "[\(inner)]"
        case .dict(let d), .namespace(let d):
            let isDict: Bool
            if case .dict = self { isDict = true } else { isDict = false }
            if depth >= ValueLimits.maxDepth { return isDict ? "{...}" : "<Namespace {...}>" }
            var parts: [String] = []
            for (k, v) in d.entries {
                if budget <= 0 { parts.append("..."); break }
                budget -= 1
                let key = isDict ? k.repr(depth: depth + 1, budget: &budget) : Value.reprString(k.pythonStr)
                parts.append("\(key): \(v.repr(depth: depth + 1, budget: &budget))")
            }
            let inner = parts.joined(separator: ", ")
            return isDict ? "{" + inner + "}" : "<Namespace {" + inner + "}>"
        case .function(let f): return "<function \(f.name)>"
        case .loop: return "<LoopContext>"
        }
    }

    /// Python's float repr: shortest round-tripping digits, `1.0` for integral values,
    /// scientific notation outside 1e-4 ..< 1e16.
    static func formatFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let mag = abs(d)
        var s = "\(d)"  // Swift also prints the shortest round-trip representation
        if mag >= 1e16 || mag < 1e-4 {
            // Normalise to Python's `1e+16` / `1.5e-05` form.
            if let eIdx = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                var mant = String(s[..<eIdx])
                var exp = String(s[s.index(after: eIdx)...])
                if mant.hasSuffix(".0") { mant.removeLast(2) }
                var sign = "+"
                if exp.hasPrefix("-") { sign = "-"; exp.removeFirst() } else if exp.hasPrefix("+") { exp.removeFirst() }
                if exp.count < 2 { exp = "0" + exp }
                return mant + "e" + sign + exp
            }
            return s
        }
        if s.contains("e") || s.contains("E") {
            // Swift switched to exponent form earlier than Python does; expand it.
            s = Value.expandExponent(d)
        }
        if !s.contains(".") { s += ".0" }
        return s
    }

    private static func expandExponent(_ d: Double) -> String {
        // Find the shortest digit count that round-trips, then print fixed-point.
        for digits in 1...17 {
            let f = String(format: "%.\(digits)g", d)
            if Double(f) == d {
                let dec = Decimal(string: f) ?? Decimal(d)
                return "\(dec)"
            }
        }
        return String(format: "%.17g", d)
    }

    /// Python `repr(str)`: single quotes unless the text has `'` and no `"`.
    static func reprString(_ s: String) -> String {
        let useDouble = s.contains("'") && !s.contains("\"")
        let q: Character = useDouble ? "\"" : "'"
        var out = String(q)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(u) == q { out += "\\\(q)"; continue }
                let v = u.value
                if v < 0x20 || v == 0x7F {
                    out += String(format: "\\x%02x", v)
                } else if (v >= 0x80 && v < 0xA0) || v == 0xAD {
                    out += String(format: "\\x%02x", v)
                } else if v == 0x2028 || v == 0x2029 || (v >= 0xD800 && v < 0xE000) {
                    out += String(format: "\\u%04x", v)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out.append(q)
        return out
    }

    /// Numeric view used by arithmetic and comparisons (bool is an int subclass in Python).
    var numeric: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    var intLike: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Python `==`. Containers compare element by element; past `ValueLimits.maxDepth`
    /// levels or `ValueLimits.maxNodes` elements (only reachable with self-containing or
    /// hugely shared values) the answer is "not equal" unless they are the same object.
    func pyEquals(_ other: Value) -> Bool {
        var budget = ValueLimits.maxNodes
        return equals(other, depth: 0, budget: &budget)
    }

    private func equals(_ other: Value, depth: Int, budget: inout Int) -> Bool {
        switch (self.demoted, other.demoted) {
        case (.undefined, .undefined): return true
        case (.undefined, _), (_, .undefined): return false
        case (.none, .none): return true
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.list(a), .list(b)):
            if a === b { return true }
            guard a.items.count == b.items.count, depth < ValueLimits.maxDepth else { return false }
            for (x, y) in zip(a.items, b.items) {
                budget -= 1
                guard budget >= 0, x.equals(y, depth: depth + 1, budget: &budget) else { return false }
            }
            return true
        case let (.dict(a), .dict(b)), let (.namespace(a), .namespace(b)):
            if a === b { return true }
            guard a.count == b.count, depth < ValueLimits.maxDepth else { return false }
            for (k, v) in a.entries {
                budget -= 1
                guard budget >= 0, let w = b[value: k], v.equals(w, depth: depth + 1, budget: &budget) else { return false }
            }
            return true
        case let (.function(a), .function(b)): return a === b
        case let (.loop(a), .loop(b)): return a === b
        default:
            if let x = intLike, let y = other.intLike { return x == y }
            if let x = numeric, let y = other.numeric { return x == y }
            return false
        }
    }

    /// Python ordering (`<`), throwing TypeError for unorderable types and a limit error for
    /// lists nested deeper than `ValueLimits.maxDepth`.
    func pyLess(_ other: Value) throws -> Bool {
        try less(other, depth: 0)
    }

    private func less(_ other: Value, depth: Int) throws -> Bool {
        switch (self.demoted, other.demoted) {
        case let (.string(a), .string(b)):
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
        case let (.list(a), .list(b)):
            if depth >= ValueLimits.maxDepth {
                throw TemplateError(.limit, "lists nested more than \(ValueLimits.maxDepth) levels deep cannot be ordered")
            }
            for (x, y) in zip(a.items, b.items) where !x.pyEquals(y) { return try x.less(y, depth: depth + 1) }
            return a.items.count < b.items.count
        default:
            if let x = intLike, let y = other.intLike { return x < y }
            if let x = numeric, let y = other.numeric { return x < y }
            if case .undefined(let n) = self { throw Value.undefinedError(n) }
            if case .undefined(let n) = other { throw Value.undefinedError(n) }
            throw TemplateError(.type, "'<' not supported between instances of '\(typeName)' and '\(other.typeName)'")
        }
    }

    static func undefinedError(_ hint: String) -> TemplateError {
        TemplateError(.undefined, hint.isEmpty ? "value is undefined" : hint)
    }

    /// Python iteration: lists, tuples, dict keys, string characters; Undefined is empty.
    func iterate() throws -> [Value] {
        switch self {
        case .list(let l): return l.items
        case .dict(let d): return d.keyValues
        case .string(let s), .markup(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        case .loop(let l): return l.items
        default:
            throw TemplateError(.type, "'\(typeName)' object is not iterable")
        }
    }

    /// `len(value)`.
    func length() throws -> Int {
        switch self {
        case .list(let l): return l.items.count
        case .dict(let d): return d.count
        case .string(let s), .markup(let s): return s.unicodeScalars.count
        case .undefined: return 0
        default: throw TemplateError(.type, "object of type '\(typeName)' has no len()")
        }
    }

    /// The value as `json.dumps` sees it (for `tojson`): floats as Python's `repr` writes them
    /// and non-finite ones as `NaN`/`Infinity`, tuples as arrays, dict keys as their `str`.
    /// Undefined, functions and loops have no JSON form and become null; `tojson` refuses them
    /// before converting.
    var jsonValue: JSONValue {
        switch self {
        case .undefined, .none, .function, .loop: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .number(d.isFinite ? JSONNumber(Value.formatFloat(d)) ?? JSONNumber(d) : JSONNumber(d))
        case .string(let s), .markup(let s): return .string(s)
        case .list(let l): return .array(l.items.map { $0.jsonValue })
        case .dict(let d), .namespace(let d): return .object(d.pairs.map { (key: $0.0, value: $0.1.jsonValue) })
        }
    }
}
