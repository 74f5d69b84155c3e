import Foundation

/// jinja2's built-in filters (the subset chat templates use), with jinja2's argument
/// names so keyword calls like `default(x, boolean=true)` work.
enum Filters {
    /// Names accepted at parse time; jinja2 rejects unknown filters when compiling.
    static let known: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "first", "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list",
        "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe",
        "select", "selectattr", "slice", "sort", "string", "sum", "title", "tojson", "trim", "truncate",
        "unique", "upper", "wordcount", "striptags", "groupby", "pprint", "urlencode", "wordwrap", "xmlattr",
        "filesizeformat",
    ]

    static func apply(_ name: String, _ input: Value, _ a: Arguments, _ interp: Interpreter) throws -> Value {
        guard known.contains(name) else { throw TemplateError(.syntax, "No filter named '\(name)' found.") }
        if case .markup = input, name == "escape" || name == "e" { return input }
        let result = try applyPlain(name, input.demoted, a, interp)
        // Markup methods return Markup, so string-producing filters keep the flag.
        if case .markup = input, case .string(let s) = result, ["trim", "upper", "lower", "replace", "indent", "capitalize", "title", "center", "truncate"].contains(name) {
            return .markup(s)
        }
        return result
    }

    private static func applyPlain(_ name: String, _ v: Value, _ a: Arguments, _ interp: Interpreter) throws -> Value {
        switch name {
        case "default", "d":
            let def = a.get(0, "default_value") ?? .string("")
            let boolean = a.get(1, "boolean")?.truthy ?? false
            if v.isUndefined || (boolean && !v.truthy) { return def }
            return v
        case "length", "count":
            return .int(try v.length())
        case "safe", "forceescape":
            if case .undefined = v { return .markup("") }
            return name == "safe" ? .markup(v.pythonStr) : .markup(escapeHTML(v.pythonStr))
        case "string":
            return .string(v.pythonStr)
        case "e", "escape":
            return .markup(escapeHTML(v.pythonStr))
        case "trim":
            let s = v.pythonStr
            if let chars = a.get(0, "chars"), case .string(let c) = chars {
                return .string(Methods.strip(s, chars: c, left: true, right: true))
            }
            return .string(Methods.strip(s, chars: nil, left: true, right: true))
        case "upper": return .string(v.pythonStr.uppercased())
        case "lower": return .string(v.pythonStr.lowercased())
        case "capitalize": return .string(Methods.capitalize(v.pythonStr))
        case "title": return .string(title(v.pythonStr))
        case "tojson":
            if case .undefined(let h) = v { throw TemplateError(.type, "Object of type Undefined is not JSON serializable (\(h))") }
            var indentStr: String? = nil
            if let ind = a.get(0, "indent") {
                switch ind {
                case .int(let n):
                    // Written once per nesting level per line: keep it to what json.dumps users write.
                    guard n <= 64 else { throw TemplateError(.limit, "tojson indent \(n) is too large (at most 64)") }
                    indentStr = String(repeating: " ", count: max(0, n))
                case .string(let s): indentStr = s
                default: break
                }
            }
            let sortKeys = a.get(4, "sort_keys")?.truthy ?? false
            try ValueLimits.check(v)
            try checkJSONSerializable(v)
            return .string(v.jsonValue.serialized(.python(indent: indentStr, sortKeys: sortKeys)))
        case "join":
            let sep = a.get(0, "d")?.pythonStr ?? ""
            var items = try v.iterate()
            if let attr = a.get(1, "attribute") { items = try items.map { try attribute($0, attr) } }
            let parts = items.map { $0.pythonStr }
            let (seps, overflow) = max(0, parts.count - 1).multipliedReportingOverflow(by: sep.utf8.count)
            try Interpreter.checkStringSize(overflow ? -1 : parts.reduce(seps) { $0 + $1.utf8.count })
            return .string(parts.joined(separator: sep))
        case "first":
            return try v.iterate().first ?? .undefined("No first item, sequence was empty.")
        case "last":
            return try v.iterate().last ?? .undefined("No last item, sequence was empty.")
        case "list":
            return .list(try v.iterate())
        case "items":
            switch v {
            case .undefined: return .list([])
            case .dict(let d), .namespace(let d): return .list(d.entries.map { .tuple([$0.0, $0.1]) })
            default: throw TemplateError(.type, "Can only get item pairs from a mapping.")
            }
        case "dictsort":
            guard case .dict(let d) = v else { throw TemplateError(.type, "dictsort requires a mapping") }
            let caseSensitive = a.get(0, "case_sensitive")?.truthy ?? false
            let byValue = a.get(1, "by")?.pythonStr == "value"
            let reverse = a.get(2, "reverse")?.truthy ?? false
            var pairs = d.entries.map { Value.tuple([$0.0, $0.1]) }
            try sortValues(&pairs, key: { p in
                guard case .list(let t) = p else { return p }
                return foldCase(byValue ? t.items[1] : t.items[0], caseSensitive)
            }, reverse: reverse)
            return .list(pairs)
        case "replace":
            guard let old = a.get(0, "old"), let new = a.get(1, "new") else { throw TemplateError(.type, "replace() missing arguments") }
            let count = a.get(2, "count")?.intLike
            return .string(try Methods.replace(v.pythonStr, old.pythonStr, new.pythonStr, count: count))
        case "int":
            let def = a.get(0, "default") ?? .int(0)
            return toInt(v, base: a.get(1, "base")?.intLike ?? 10) ?? def
        case "float":
            let def = a.get(0, "default") ?? .double(0)
            switch v {
            case .int(let i): return .double(Double(i))
            case .double: return v
            case .bool(let b): return .double(b ? 1 : 0)
            case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces)).map { .double($0) } ?? def
            default: return def
            }
        case "abs":
            switch v {
            case .int(let i): return .int(abs(i))
            case .double(let d): return .double(abs(d))
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw TemplateError(.type, "bad operand type for abs(): '\(v.typeName)'")
            }
        case "round":
            let precision = a.get(0, "precision")?.intLike ?? 0
            let method = a.get(1, "method")?.pythonStr ?? "common"
            guard let n = v.numeric else { throw TemplateError(.type, "type \(v.typeName) doesn't define __round__ method") }
            let scale = pow(10.0, Double(precision))
            // "common" is Python round(): ties go to the even neighbour.
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : (method == "floor" ? .down : .toNearestOrEven)
            return .double((n * scale).rounded(rule) / scale)
        case "reverse":
            if case .string(let s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try v.iterate().reversed())
        case "unique":
            let cs = a.get(0, "case_sensitive")?.truthy ?? false
            let attr = a.get(1, "attribute")
            var seen: [Value] = []
            var out: [Value] = []
            for item in try v.iterate() {
                let key = foldCase(try attr.map { try attribute(item, $0) } ?? item, cs)
                if !seen.contains(where: { $0.pyEquals(key) }) { seen.append(key); out.append(item) }
            }
            return .list(out)
        case "sort":
            let reverse = a.get(0, "reverse")?.truthy ?? false
            let cs = a.get(1, "case_sensitive")?.truthy ?? false
            let attr = a.get(2, "attribute")
            var items = try v.iterate()
            try sortValues(&items, key: { item in foldCase(try attr.map { try attribute(item, $0) } ?? item, cs) }, reverse: reverse)
            return .list(items)
        case "min", "max":
            let cs = a.get(0, "case_sensitive")?.truthy ?? false
            let attr = a.get(1, "attribute")
            let items = try v.iterate()
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            for item in items.dropFirst() {
                let k1 = foldCase(try attr.map { try attribute(item, $0) } ?? item, cs)
                let k2 = foldCase(try attr.map { try attribute(best, $0) } ?? best, cs)
                if name == "min" ? try k1.pyLess(k2) : try k2.pyLess(k1) { best = item }
            }
            return best
        case "sum":
            let attr = a.get(0, "attribute")
            var total = a.get(1, "start") ?? .int(0)
            for item in try v.iterate() {
                total = try Operators.binary("+", total, try attr.map { try attribute(item, $0) } ?? item)
            }
            return total
        case "map":
            // jinja2's map/select/... start with `if value:` so None and "" give nothing.
            guard v.truthy else { return .list([]) }
            return .list(try mapItems(try v.iterate(), a, interp))
        case "select", "reject":
            guard v.truthy else { return .list([]) }
            let items = try v.iterate()
            return .list(try items.filter { item in
                let ok: Bool
                if let testName = a.positional.first?.pythonStr {
                    ok = try Tests.apply(testName, item, Arguments(positional: Array(a.positional.dropFirst()), keyword: a.keyword), interp)
                } else {
                    ok = item.truthy
                }
                return name == "select" ? ok : !ok
            })
        case "selectattr", "rejectattr":
            guard let attrName = a.positional.first else { throw TemplateError(.type, "\(name) requires an attribute name") }
            guard v.truthy else { return .list([]) }
            let items = try v.iterate()
            return .list(try items.filter { item in
                let av = try attribute(item, attrName)
                let ok: Bool
                if a.positional.count > 1 {
                    ok = try Tests.apply(a.positional[1].pythonStr, av, Arguments(positional: Array(a.positional.dropFirst(2)), keyword: a.keyword), interp)
                } else {
                    ok = av.truthy
                }
                return name == "selectattr" ? ok : !ok
            })
        case "attr":
            guard let n = a.get(0, "name") else { throw TemplateError(.type, "attr requires a name") }
            return try Interpreter.getAttr(v, n.pythonStr)
        case "batch":
            guard let size = a.get(0, "linecount")?.intLike, size > 0 else { throw TemplateError(.type, "batch size must be positive") }
            if size > Interpreter.maxListItems { throw TemplateError(.limit, "batch size \(size) is too large") }
            let fill = a.get(1, "fill_with")
            var out: [Value] = []
            var cur: [Value] = []
            for item in try v.iterate() {
                cur.append(item)
                if cur.count == size { out.append(.list(cur)); cur = [] }
            }
            if !cur.isEmpty {
                if let fill { while cur.count < size { cur.append(fill) } }
                out.append(.list(cur))
            }
            return .list(out)
        case "slice":
            guard let n = a.get(0, "slices")?.intLike, n > 0 else { throw TemplateError(.type, "slices must be positive") }
            if n > Interpreter.maxListItems { throw TemplateError(.limit, "slice count \(n) is too large") }
            let fill = a.get(1, "fill_with")
            let items = try v.iterate()
            let per = items.count / n
            let extra = items.count % n
            var offset = 0
            var out: [Value] = []
            for i in 0..<n {
                let start = offset + i * per
                if i < extra { offset += 1 }
                let end = offset + (i + 1) * per
                var chunk = Array(items[start..<end])
                if let fill, i >= extra { chunk.append(fill) }
                out.append(.list(chunk))
            }
            return .list(out)
        case "indent":
            var width = "    "
            if let w = a.get(0, "width") {
                if case .string(let s) = w { width = s } else if let n = w.intLike {
                    try Interpreter.checkStringSize(n)
                    width = String(repeating: " ", count: max(0, n))
                }
            }
            let text = v.pythonStr
            let lines = Methods.splitLines(text + "\n").count
            let (padding, overflow) = lines.multipliedReportingOverflow(by: width.utf8.count)
            try Interpreter.checkStringSize(overflow ? -1 : text.utf8.count + padding)
            return .string(indent(text, width, first: a.get(1, "first")?.truthy ?? false, blank: a.get(2, "blank")?.truthy ?? false))
        case "wordcount":
            return .int(v.pythonStr.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).count)
        case "center":
            let width = a.get(0, "width")?.intLike ?? 80
            try Interpreter.checkStringSize(width)
            return .string(Methods.center(v.pythonStr, width))
        case "truncate":
            return .string(truncate(v.pythonStr, length: a.get(0, "length")?.intLike ?? 255, killwords: a.get(1, "killwords")?.truthy ?? false,
                                    end: a.get(2, "end")?.pythonStr ?? "...", leeway: a.get(3, "leeway")?.intLike ?? 5))
        case "format":
            // `"%s-%s" | format(a, b)` is Python's `"%s-%s" % (a, b)`.
            return .string(try Operators.percentFormat(v.pythonStr, .tuple(a.positional)))
        case "pprint":
            return .string(v.pythonRepr)
        case "striptags":
            let s = v.pythonStr.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
            return .string(s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " "))
        default:
            throw TemplateError(.type, "filter '\(name)' is not supported")
        }
    }

    // MARK: helpers

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// jinja2's `title`: uppercase the first letter of each word (words split on
    /// whitespace and opening brackets/dashes), lowercase the rest.
    static func title(_ s: String) -> String {
        var out = ""
        var startOfWord = true
        for c in s {
            if c.isWhitespace || "-([{<".contains(c) {
                out.append(c)
                startOfWord = true
            } else {
                out += startOfWord ? c.uppercased() : c.lowercased()
                startOfWord = false
            }
        }
        return out
    }

    /// jinja2's `attribute=` lookup: dotted paths, integer components index lists.
    static func attribute(_ item: Value, _ attr: Value) throws -> Value {
        if let i = attr.intLike { return try Interpreter.getItem(item, .int(i)) }
        var cur = item
        for part in attr.pythonStr.split(separator: ".", omittingEmptySubsequences: false) {
            if let i = Int(part) { cur = try Interpreter.getItem(cur, .int(i)) } else { cur = try Interpreter.getItem(cur, .string(String(part))) }
        }
        return cur
    }

    private static func foldCase(_ v: Value, _ caseSensitive: Bool) -> Value {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    /// Stable sort by key with Python ordering (errors propagate instead of crashing).
    static func sortValues(_ items: inout [Value], key: (Value) throws -> Value, reverse: Bool) throws {
        let keyed = try items.enumerated().map { ($0.offset, try key($0.element), $0.element) }
        var failure: Error?
        let sorted = keyed.sorted { x, y in
            do {
                if try x.1.pyLess(y.1) { return !reverse }
                if try y.1.pyLess(x.1) { return reverse }
            } catch { failure = error }
            return x.0 < y.0
        }
        if let failure { throw failure }
        items = sorted.map { $0.2 }
    }

    private static func mapItems(_ items: [Value], _ a: Arguments, _ interp: Interpreter) throws -> [Value] {
        if let attr = a.keyword.first(where: { $0.0 == "attribute" })?.1 {
            let def = a.keyword.first(where: { $0.0 == "default" })?.1
            return try items.map { item in
                let v = try attribute(item, attr)
                if v.isUndefined, let def { return def }
                return v
            }
        }
        guard let filterName = a.positional.first?.pythonStr else { return items }
        guard known.contains(filterName) else { throw TemplateError(.syntax, "No filter named '\(filterName)'.") }
        let rest = Arguments(positional: Array(a.positional.dropFirst()), keyword: a.keyword)
        return try items.map { try apply(filterName, $0, rest, interp) }
    }

    static func toInt(_ v: Value, base: Int) -> Value? {
        switch v {
        case .int: return v
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d):
            guard d.isFinite, abs(d) < 9.2e18 else { return nil }
            return .int(Int(d))
        case .string(let raw):
            let s = raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
            // Python's int(s, base) takes bases 2 ... 36, or 0 (the prefix decides); any other base is
            // its ValueError, after which jinja2 tries float(s)
            if (2...36).contains(base), let i = Int(s, radix: base) { return .int(i) }
            if base == 0, let i = prefixedInt(s) { return .int(i) }
            if let d = Double(s), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
            return nil
        default: return nil
        }
    }

    /// Python's int(s, 0): an optional sign, then 0x/0o/0b for bases 16/8/2, else decimal.
    static func prefixedInt(_ s: String) -> Int? {
        var body = Substring(s), negative = false
        if let sign = body.first, sign == "+" || sign == "-" { negative = sign == "-"; body = body.dropFirst() }
        var radix = 10
        for (prefix, r) in [("0x", 16), ("0o", 8), ("0b", 2)] where body.lowercased().hasPrefix(prefix) {
            radix = r
            body = body.dropFirst(2)
        }
        guard !body.isEmpty, !body.hasPrefix("+"), !body.hasPrefix("-"), let v = Int(body, radix: radix) else { return nil }
        return negative ? 0 - v : v
    }

    static func indent(_ s: String, _ width: String, first: Bool, blank: Bool) -> String {
        // jinja2 appends a newline before splitlines(), so a trailing newline yields no extra line.
        let lines = Methods.splitLines(s + "\n")
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + width)
        } else {
            rv = lines.first ?? ""
            if lines.count > 1 {
                rv += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : width + $0 }.joined(separator: "\n")
            }
        }
        if first { rv = width + rv }
        return rv
    }

    static func truncate(_ s: String, length: Int, killwords: Bool, end: String, leeway: Int) -> String {
        let scalars = Array(s)
        if scalars.count <= length + leeway { return s }
        if killwords { return String(scalars.prefix(max(0, length - end.count))) + end }
        let head = String(scalars.prefix(max(0, length - end.count)))
        if let space = head.lastIndex(of: " ") { return String(head[..<space]) + end }
        return head + end
    }

    /// json.dumps raises TypeError on values that are not JSON types.
    private static func checkJSONSerializable(_ v: Value) throws {
        switch v {
        case .undefined: throw TemplateError(.type, "Object of type Undefined is not JSON serializable")
        case .function: throw TemplateError(.type, "Object of type function is not JSON serializable")
        case .loop: throw TemplateError(.type, "Object of type LoopContext is not JSON serializable")
        case .namespace: throw TemplateError(.type, "Object of type Namespace is not JSON serializable")
        case .list(let l): for i in l.items { try checkJSONSerializable(i) }
        case .dict(let d): for (_, x) in d.pairs { try checkJSONSerializable(x) }
        default: break
        }
    }
}
