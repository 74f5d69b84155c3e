import Foundation

/// Python methods callable on strings, lists and dicts from templates
/// (`s.strip()`, `xs.append(x)`, `d.items()`); jinja2 is not sandboxed in
/// transformers, so mutating list/dict methods work.
enum Methods {
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "title", "capitalize", "replace", "find", "rfind", "index", "rindex", "count", "join", "isdigit", "isalpha",
        "isalnum", "isspace", "isupper", "islower", "isnumeric", "isdecimal", "format", "zfill", "center", "ljust",
        "rjust", "partition", "rpartition", "removeprefix", "removesuffix", "casefold", "swapcase", "encode",
    ]
    static let listMethods: Set<String> = ["append", "extend", "pop", "insert", "remove", "index", "count", "reverse", "sort", "copy", "clear"]
    static let dictMethods: Set<String> = ["items", "keys", "values", "get", "pop", "update", "copy", "setdefault", "clear"]

    /// Returns the bound method `obj.name`, or nil when the type has no such method.
    static func bind(_ obj: Value, _ name: String) -> Value? {
        switch obj.demoted {
        case .string(let s):
            guard stringMethods.contains(name) else { return nil }
            return .function(FunctionBox(name: "str.\(name)") { try stringMethod(s, name, $0) })
        case .list(let l):
            guard listMethods.contains(name) else { return nil }
            return .function(FunctionBox(name: "list.\(name)") { try listMethod(l, name, $0) })
        case .dict(let d):
            guard dictMethods.contains(name) else { return nil }
            return .function(FunctionBox(name: "dict.\(name)") { try dictMethod(d, name, $0) })
        default:
            return nil
        }
    }

    // MARK: strings

    static func isPySpace(_ u: Unicode.Scalar) -> Bool {
        u.properties.isWhitespace || (u.value >= 0x1C && u.value <= 0x1F)
    }

    static func strip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func drop(_ u: Unicode.Scalar) -> Bool { set.map { $0.contains(u) } ?? isPySpace(u) }
        let scalars = s.unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        if left { while start < end && drop(scalars[start]) { start = scalars.index(after: start) } }
        if right {
            while end > start {
                let prev = scalars.index(before: end)
                if drop(scalars[prev]) { end = prev } else { break }
            }
        }
        return String(scalars[start..<end])
    }

    static func capitalize(_ s: String) -> String {
        guard let f = s.first else { return s }
        return f.uppercased() + s.dropFirst().lowercased()
    }

    /// Python `str.title()`: a letter following a non-letter is uppercased.
    static func pyTitle(_ s: String) -> String {
        var out = ""
        var prevCased = false
        for c in s {
            if c.isLetter {
                out += prevCased ? c.lowercased() : c.uppercased()
                prevCased = true
            } else {
                out.append(c)
                prevCased = false
            }
        }
        return out
    }

    /// Python `str.replace`; throws a limit error rather than build a string over
    /// `Interpreter.maxOutputBytes` (a short template can ask for `n` copies of a long `new`).
    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) throws -> String {
        let limit = count ?? -1
        if old.isEmpty {
            // Python inserts `new` between every character and at both ends.
            let scalars = s.unicodeScalars.map { String($0) }
            let slots = limit < 0 ? scalars.count + 1 : min(limit, scalars.count + 1)
            let (extra, overflow) = slots.multipliedReportingOverflow(by: new.utf8.count)
            try Interpreter.checkStringSize(overflow ? -1 : s.utf8.count + extra)
            if limit < 0 {
                return new + scalars.joined(separator: new) + (s.isEmpty ? "" : new)
            }
            var out = ""
            for (i, c) in scalars.enumerated() {
                if i < slots { out += new }
                out += c
            }
            if slots > scalars.count { out += new }
            return out
        }
        var out = ""
        var rest = Substring(s)
        var n = 0
        while limit < 0 || n < limit, let r = rest.range(of: old) {
            out += rest[..<r.lowerBound]
            out += new
            try Interpreter.checkStringSize(out.utf8.count)
            rest = rest[r.upperBound...]
            n += 1
        }
        return out + rest
    }

    static func center(_ s: String, _ width: Int, fill: String = " ") -> String {
        let len = s.unicodeScalars.count
        guard width > len else { return s }
        let total = width - len
        // CPython puts the extra padding on the left when the total is odd and width is odd.
        let left = total / 2 + (total & width & 1)
        return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
    }

    static func splitLines(_ s: String, keepEnds: Bool = false) -> [String] {
        var lines: [String] = []
        var cur = String.UnicodeScalarView()
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let u = scalars[i]
            let isBreak = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029].contains(u.value)
            if isBreak {
                if keepEnds { cur.append(u) }
                if u.value == 0x0D && i + 1 < scalars.count && scalars[i + 1].value == 0x0A {
                    if keepEnds { cur.append(scalars[i + 1]) }
                    i += 1
                }
                lines.append(String(cur))
                cur = String.UnicodeScalarView()
            } else {
                cur.append(u)
            }
            i += 1
        }
        if !cur.isEmpty { lines.append(String(cur)) }
        return lines
    }

    /// Python `str.split(sep=None, maxsplit=-1)`.
    static func split(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
        if let sep {
            guard !sep.isEmpty else { throw TemplateError(.type, "empty separator") }
            var parts: [String] = []
            var rest = Substring(s)
            while maxsplit < 0 || parts.count < maxsplit, let r = rest.range(of: sep) {
                parts.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            }
            parts.append(String(rest))
            return parts
        }
        var parts: [String] = []
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            while i < scalars.count && isPySpace(scalars[i]) { i += 1 }
            if i >= scalars.count { break }
            if maxsplit >= 0 && parts.count >= maxsplit {
                var tail = String.UnicodeScalarView(scalars[i...])
                while let l = tail.last, isPySpace(l) { tail.removeLast() }
                parts.append(String(tail))
                break
            }
            var j = i
            while j < scalars.count && !isPySpace(scalars[j]) { j += 1 }
            parts.append(String(String.UnicodeScalarView(scalars[i..<j])))
            i = j
        }
        return parts
    }

    /// Python `str.rsplit(sep, maxsplit)` (separator form; whitespace form via split when unlimited).
    static func rsplit(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
        if maxsplit < 0 || sep == nil { return try split(s, sep: sep, maxsplit: maxsplit) }
        guard let sep, !sep.isEmpty else { throw TemplateError(.type, "empty separator") }
        var parts: [String] = []
        var rest = Substring(s)
        while parts.count < maxsplit, let r = rest.range(of: sep, options: .backwards) {
            parts.insert(String(rest[r.upperBound...]), at: 0)
            rest = rest[..<r.lowerBound]
        }
        parts.insert(String(rest), at: 0)
        return parts
    }

    private static func stringArg(_ v: Value?, _ what: String) throws -> String? {
        guard let v else { return nil }
        switch v {
        case .none: return nil
        case .string(let s): return s
        default: throw TemplateError(.type, "\(what) arg must be None or str")
        }
    }

    /// Converts a scalar offset (Python index) to a String index range search.
    private static func scalarOffset(_ s: String, of idx: String.Index) -> Int {
        s.unicodeScalars.distance(from: s.unicodeScalars.startIndex, to: idx)
    }

    private static func prefixOrSuffix(_ s: String, _ arg: Value, suffix: Bool) throws -> Bool {
        switch arg {
        case .string(let p):
            return suffix ? s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed()) : s.unicodeScalars.starts(with: p.unicodeScalars)
        case .list(let l):
            for item in l.items where try prefixOrSuffix(s, item, suffix: suffix) { return true }
            return false
        default:
            throw TemplateError(.type, "\(suffix ? "endswith" : "startswith") first arg must be str or a tuple of str, not \(arg.typeName)")
        }
    }

    static func stringMethod(_ s: String, _ name: String, _ a: Arguments) throws -> Value {
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try stringArg(a.get(0, "chars"), name)
            return .string(strip(s, chars: chars, left: name != "rstrip", right: name != "lstrip"))
        case "split", "rsplit":
            let sep = try stringArg(a.get(0, "sep"), name)
            let maxsplit = a.get(1, "maxsplit")?.intLike ?? -1
            let parts = name == "split" ? try split(s, sep: sep, maxsplit: maxsplit) : try rsplit(s, sep: sep, maxsplit: maxsplit)
            return .list(parts.map { .string($0) })
        case "splitlines":
            return .list(splitLines(s, keepEnds: a.get(0, "keepends")?.truthy ?? false).map { .string($0) })
        case "startswith", "endswith":
            guard let p = a.positional.first else { throw TemplateError(.type, "\(name)() takes at least 1 argument (0 given)") }
            return .bool(try prefixOrSuffix(s, p, suffix: name == "endswith"))
        case "upper": return .string(s.uppercased())
        case "lower", "casefold": return .string(s.lowercased())
        case "title": return .string(pyTitle(s))
        case "capitalize": return .string(capitalize(s))
        case "swapcase": return .string(String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) }))
        case "replace":
            guard a.positional.count >= 2 else { throw TemplateError(.type, "replace expected at least 2 arguments") }
            return .string(try replace(s, a.positional[0].pythonStr, a.positional[1].pythonStr, count: a.get(2, "count")?.intLike))
        case "find", "rfind", "index", "rindex":
            guard let sub = try stringArg(a.positional.first, name) else { throw TemplateError(.type, "\(name) requires a string") }
            let r = name.hasPrefix("r") ? s.range(of: sub, options: .backwards) : s.range(of: sub)
            if let r { return .int(scalarOffset(s, of: r.lowerBound)) }
            if name.hasSuffix("index") { throw TemplateError(.type, "substring not found") }
            return .int(-1)
        case "count":
            guard let sub = try stringArg(a.positional.first, name) else { throw TemplateError(.type, "count requires a string") }
            if sub.isEmpty { return .int(s.unicodeScalars.count + 1) }
            return .int(s.components(separatedBy: sub).count - 1)
        case "join":
            guard let items = a.positional.first else { throw TemplateError(.type, "join() takes exactly one argument") }
            var parts: [String] = []
            for item in try items.iterate() {
                guard case .string(let p) = item else { throw TemplateError(.type, "sequence item \(parts.count): expected str instance, \(item.typeName) found") }
                parts.append(p)
            }
            return .string(parts.joined(separator: s))
        case "isdigit", "isnumeric", "isdecimal":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isPySpace))
        case "isupper": return .bool(s.contains { $0.isCased } && s == s.uppercased())
        case "islower": return .bool(s.contains { $0.isCased } && s == s.lowercased())
        case "format": return .string(try pyFormat(s, a))
        case "zfill":
            let w = a.get(0, "width")?.intLike ?? 0
            let n = s.unicodeScalars.count
            guard w > n else { return .string(s) }
            try Interpreter.checkStringSize(w)
            if let f = s.first, f == "-" || f == "+" { return .string(String(f) + String(repeating: "0", count: w - n) + s.dropFirst()) }
            return .string(String(repeating: "0", count: w - n) + s)
        case "center", "ljust", "rjust":
            let w = a.get(0, "width")?.intLike ?? 0
            let fill = a.get(1, "fillchar")?.pythonStr ?? " "
            let n = s.unicodeScalars.count
            guard w > n else { return .string(s) }
            let (bytes, overflow) = w.multipliedReportingOverflow(by: max(1, fill.utf8.count))
            try Interpreter.checkStringSize(overflow ? -1 : bytes)
            if name == "center" { return .string(center(s, w, fill: fill)) }
            let pad = String(repeating: fill, count: w - n)
            return .string(name == "ljust" ? s + pad : pad + s)
        case "partition", "rpartition":
            let sep = a.positional.first?.pythonStr ?? ""
            guard !sep.isEmpty else { throw TemplateError(.type, "empty separator") }
            if let r = name == "partition" ? s.range(of: sep) : s.range(of: sep, options: .backwards) {
                return .tuple([.string(String(s[..<r.lowerBound])), .string(sep), .string(String(s[r.upperBound...]))])
            }
            return name == "partition" ? .tuple([.string(s), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(s)])
        case "removeprefix":
            let p = a.positional.first?.pythonStr ?? ""
            return .string(s.hasPrefix(p) ? String(s.dropFirst(p.count)) : s)
        case "removesuffix":
            let p = a.positional.first?.pythonStr ?? ""
            return .string(!p.isEmpty && s.hasSuffix(p) ? String(s.dropLast(p.count)) : s)
        case "encode":
            return .string(s)
        default:
            throw TemplateError(.type, "'str' object has no attribute '\(name)'")
        }
    }

    /// Python `str.format` for `{}`, `{0}`, `{name}` fields (format specs are ignored except `!r`).
    static func pyFormat(_ s: String, _ a: Arguments) throws -> String {
        var out = ""
        var auto = 0
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "{" {
                let n = s.index(after: i)
                if n < s.endIndex && s[n] == "{" { out += "{"; i = s.index(after: n); continue }
                guard let close = s[n...].firstIndex(of: "}") else { throw TemplateError(.type, "Single '{' encountered in format string") }
                var field = String(s[n..<close])
                var conv = ""
                if let bang = field.firstIndex(of: "!") { conv = String(field[field.index(after: bang)...]); field = String(field[..<bang]) }
                if let colon = field.firstIndex(of: ":") { field = String(field[..<colon]) }
                let v: Value
                if field.isEmpty {
                    guard auto < a.positional.count else { throw TemplateError(.type, "Replacement index \(auto) out of range for positional args tuple") }
                    v = a.positional[auto]; auto += 1
                } else if let idx = Int(field) {
                    guard idx < a.positional.count else { throw TemplateError(.type, "Replacement index \(idx) out of range for positional args tuple") }
                    v = a.positional[idx]
                } else {
                    guard let kw = a.keyword.first(where: { $0.0 == field }) else { throw TemplateError(.type, "KeyError: '\(field)'") }
                    v = kw.1
                }
                out += conv.hasPrefix("r") ? v.pythonRepr : v.pythonStr
                i = s.index(after: close)
            } else if c == "}" {
                let n = s.index(after: i)
                if n < s.endIndex && s[n] == "}" { out += "}"; i = s.index(after: n); continue }
                throw TemplateError(.type, "Single '}' encountered in format string")
            } else {
                out.append(c)
                i = s.index(after: i)
            }
        }
        return out
    }

    // MARK: lists

    static func listMethod(_ l: ListBox, _ name: String, _ a: Arguments) throws -> Value {
        if l.isTuple && !["index", "count"].contains(name) {
            throw TemplateError(.type, "'tuple' object has no attribute '\(name)'")
        }
        switch name {
        case "append":
            guard let x = a.positional.first else { throw TemplateError(.type, "append() takes exactly one argument (0 given)") }
            l.items.append(x)
            return .none
        case "extend":
            guard let x = a.positional.first else { throw TemplateError(.type, "extend() takes exactly one argument (0 given)") }
            l.items.append(contentsOf: try x.iterate())
            return .none
        case "pop":
            guard !l.items.isEmpty else { throw TemplateError(.type, "pop from empty list") }
            var idx = a.positional.first?.intLike ?? -1
            if idx < 0 { idx += l.items.count }
            guard idx >= 0 && idx < l.items.count else { throw TemplateError(.type, "pop index out of range") }
            return l.items.remove(at: idx)
        case "insert":
            guard a.positional.count == 2, var idx = a.positional[0].intLike else { throw TemplateError(.type, "insert expected 2 arguments") }
            if idx < 0 { idx = max(0, idx + l.items.count) }
            l.items.insert(a.positional[1], at: min(idx, l.items.count))
            return .none
        case "remove":
            guard let x = a.positional.first, let idx = l.items.firstIndex(where: { $0.pyEquals(x) }) else {
                throw TemplateError(.type, "list.remove(x): x not in list")
            }
            l.items.remove(at: idx)
            return .none
        case "index":
            guard let x = a.positional.first, let idx = l.items.firstIndex(where: { $0.pyEquals(x) }) else {
                throw TemplateError(.type, "value is not in list")
            }
            return .int(idx)
        case "count":
            guard let x = a.positional.first else { throw TemplateError(.type, "count() takes exactly one argument") }
            return .int(l.items.filter { $0.pyEquals(x) }.count)
        case "reverse":
            l.items.reverse()
            return .none
        case "sort":
            try Filters.sortValues(&l.items, key: { $0 }, reverse: a.get(1, "reverse")?.truthy ?? false)
            return .none
        case "copy":
            return .list(l.items)
        case "clear":
            l.items.removeAll()
            return .none
        default:
            throw TemplateError(.type, "'list' object has no attribute '\(name)'")
        }
    }

    // MARK: dicts

    static func dictMethod(_ d: DictBox, _ name: String, _ a: Arguments) throws -> Value {
        switch name {
        case "items": return .list(d.entries.map { .tuple([$0.0, $0.1]) })
        case "keys": return .list(d.keyValues)
        case "values": return .list(d.entries.map { $0.1 })
        case "get":
            guard let k = a.positional.first else { throw TemplateError(.type, "get expected at least 1 argument, got 0") }
            return d[value: k] ?? (a.get(1, "default") ?? .none)
        case "pop":
            guard let k = a.positional.first else { throw TemplateError(.type, "pop expected at least 1 argument, got 0") }
            if let v = d[value: k] { d[value: k] = nil; return v }
            if a.positional.count > 1 { return a.positional[1] }
            throw TemplateError(.type, "KeyError: \(k.pythonRepr)")
        case "setdefault":
            guard let k = a.positional.first else { throw TemplateError(.type, "setdefault expected at least 1 argument") }
            if let v = d[value: k] { return v }
            let v = a.positional.count > 1 ? a.positional[1] : .none
            d[value: k] = v
            return v
        case "update":
            if let other = a.positional.first {
                switch other {
                case .dict(let o): for (k, v) in o.entries { d[value: k] = v }
                default:
                    for pair in try other.iterate() {
                        let kv = try pair.iterate()
                        guard kv.count == 2 else { throw TemplateError(.type, "dictionary update sequence element has wrong length") }
                        d[value: kv[0]] = kv[1]
                    }
                }
            }
            for (k, v) in a.keyword { d[k] = v }
            return .none
        case "copy": return .dict(d.copy())
        case "clear":
            for k in d.keyValues { d[value: k] = nil }
            return .none
        default:
            throw TemplateError(.type, "'dict' object has no attribute '\(name)'")
        }
    }
}
