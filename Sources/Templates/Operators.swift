import Foundation

/// Python semantics of the binary and comparison operators.
enum Operators {
    /// `str + undefined` / `str + none` (either order) as llama.cpp's template engine evaluates it:
    /// the string alone. Python's Jinja raises, so this applies only with
    /// `RenderOptions.concatenatesMissingStrings` (chat templates written against llama-server rely
    /// on it: Firefunction v2 adds an optional `functions` to its system prompt).
    static func concatenatingMissing(_ a: Value, _ b: Value) -> Value? {
        switch (a, b) {
        case (.string(let s), .undefined), (.string(let s), .none), (.undefined, .string(let s)), (.none, .string(let s)):
            return .string(s)
        default: return nil
        }
    }

    static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        if op == "~" { return .string(a.pythonStr + b.pythonStr) }
        if op == "+" {
            // Markup + str escapes the str side (Markup.__add__ / __radd__).
            switch (a, b) {
            case let (.markup(x), .markup(y)): return .markup(x + y)
            case let (.markup(x), .string(y)): return .markup(x + Filters.escapeHTML(y))
            case let (.string(x), .markup(y)): return .markup(Filters.escapeHTML(x) + y)
            default: break
            }
        }
        let a = a.demoted, b = b.demoted
        if case .undefined(let h) = a { throw Value.undefinedError(h) }
        if case .undefined(let h) = b { throw Value.undefinedError(h) }
        switch op {
        case "+":
            switch (a, b) {
            case let (.string(x), .string(y)): return .string(x + y)
            case let (.list(x), .list(y)):
                if x.isTuple == y.isTuple { return .list(ListBox(x.items + y.items, isTuple: x.isTuple)) }
            case (.string, _):
                throw TemplateError(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
            case let (.list(x), _):
                throw TemplateError(.type, "can only concatenate \(x.isTuple ? "tuple" : "list") (not \"\(b.typeName)\") to \(x.isTuple ? "tuple" : "list")")
            default:
                if let x = a.intLike, let y = b.intLike {
                    let (r, o) = x.addingReportingOverflow(y)
                    if !o { return .int(r) }
                    return .double(Double(x) + Double(y))
                }
                if let x = a.numeric, let y = b.numeric { return .double(x + y) }
            }
        case "-":
            if let x = a.intLike, let y = b.intLike {
                let (r, o) = x.subtractingReportingOverflow(y)
                if !o { return .int(r) }
            }
            if let x = a.numeric, let y = b.numeric { return .double(x - y) }
        case "*":
            switch (a, b) {
            case let (.string(s), .int(n)), let (.int(n), .string(s)):
                guard n > 0 else { return .string("") }
                let (bytes, overflow) = s.utf8.count.multipliedReportingOverflow(by: n)
                try Interpreter.checkStringSize(overflow ? -1 : bytes)
                return .string(String(repeating: s, count: n))
            case let (.list(l), .int(n)), let (.int(n), .list(l)):
                var r: [Value] = []
                guard n > 0 else { return .list(ListBox(r, isTuple: l.isTuple)) }
                let (items, overflow) = l.items.count.multipliedReportingOverflow(by: n)
                if overflow || items > Interpreter.maxListItems {
                    throw TemplateError(.limit, "list would exceed \(Interpreter.maxListItems) items")
                }
                for _ in 0..<n { r += l.items }
                return .list(ListBox(r, isTuple: l.isTuple))
            default:
                if let x = a.intLike, let y = b.intLike {
                    let (r, o) = x.multipliedReportingOverflow(by: y)
                    if !o { return .int(r) }
                }
                if let x = a.numeric, let y = b.numeric { return .double(x * y) }
            }
        case "/":
            if let x = a.numeric, let y = b.numeric {
                guard y != 0 else { throw TemplateError(.type, "division by zero") }
                return .double(x / y)
            }
        case "//":
            if let x = a.intLike, let y = b.intLike {
                guard y != 0 else { throw TemplateError(.type, "integer division or modulo by zero") }
                return .int(floorDiv(x, y))
            }
            if let x = a.numeric, let y = b.numeric {
                guard y != 0 else { throw TemplateError(.type, "float floor division by zero") }
                return .double((x / y).rounded(.down))
            }
        case "%":
            if case .string(let fmt) = a { return .string(try percentFormat(fmt, b)) }
            if let x = a.intLike, let y = b.intLike {
                guard y != 0 else { throw TemplateError(.type, "integer division or modulo by zero") }
                return .int(x - floorDiv(x, y) * y)
            }
            if let x = a.numeric, let y = b.numeric {
                guard y != 0 else { throw TemplateError(.type, "float modulo") }
                let r = x.truncatingRemainder(dividingBy: y)
                return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            }
        case "**":
            if let x = a.intLike, let y = b.intLike, y >= 0 {
                var result = 1
                var overflow = false
                for _ in 0..<min(y, 4096) {
                    let (r, o) = result.multipliedReportingOverflow(by: x)
                    if o { overflow = true; break }
                    result = r
                }
                if !overflow { return .int(result) }
                return .double(pow(Double(x), Double(y)))
            }
            if let x = a.numeric, let y = b.numeric { return .double(pow(x, y)) }
        default:
            break
        }
        throw TemplateError(.type, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    static func floorDiv(_ x: Int, _ y: Int) -> Int {
        let q = x / y
        return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q
    }

    static func compare(_ op: String, _ a: Value, _ b: Value) throws -> Bool {
        let a = a.demoted, b = b.demoted
        switch op {
        case "==": return a.pyEquals(b)
        case "!=": return !a.pyEquals(b)
        case "<": return try a.pyLess(b)
        case ">": return try b.pyLess(a)
        case "<=": return try a.pyLess(b) || a.pyEquals(b)
        case ">=": return try b.pyLess(a) || a.pyEquals(b)
        case "in": return try contains(b, a)
        case "notin": return !(try contains(b, a))
        default: throw TemplateError(.syntax, "unknown operator \(op)")
        }
    }

    /// Python `item in container`.
    static func contains(_ container: Value, _ item: Value) throws -> Bool {
        let item = item.demoted
        switch container.demoted {
        case .string(let s):
            guard case .string(let sub) = item else {
                if case .undefined(let h) = item { throw Value.undefinedError(h) }
                throw TemplateError(.type, "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return sub.isEmpty || s.contains(sub)
        case .list(let l): return l.items.contains { $0.pyEquals(item) }
        case .dict(let d), .namespace(let d):
            return d[value: item] != nil
        case .undefined: return false
        default:
            throw TemplateError(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// Python printf-style `"fmt" % args` for the common conversions (%s %d %i %f %r %%).
    static func percentFormat(_ fmt: String, _ args: Value) throws -> String {
        var argList: [Value]
        if case .list(let l) = args, l.isTuple { argList = l.items } else { argList = [args] }
        var out = ""
        var chars = Array(fmt)
        var i = 0
        var argIndex = 0
        func nextArg() throws -> Value {
            guard argIndex < argList.count else { throw TemplateError(.type, "not enough arguments for format string") }
            defer { argIndex += 1 }
            return argList[argIndex]
        }
        while i < chars.count {
            let c = chars[i]
            if c != "%" { out.append(c); i += 1; continue }
            i += 1
            guard i < chars.count else { throw TemplateError(.type, "incomplete format") }
            var spec = ""
            while i < chars.count, "0123456789.-+ #".contains(chars[i]) { spec.append(chars[i]); i += 1 }
            guard i < chars.count else { throw TemplateError(.type, "incomplete format") }
            // Width and precision go to String(format:), which would allocate whatever they say.
            for number in spec.split(whereSeparator: { !$0.isNumber }) where number.count > 4 {
                throw TemplateError(.limit, "format width or precision '\(number)' is too large")
            }
            let conv = chars[i]
            i += 1
            switch conv {
            case "%": out += "%"
            case "s": out += try pad(nextArg().pythonStr, spec)
            case "r": out += try pad(nextArg().pythonRepr, spec)
            case "d", "i":
                let v = try nextArg()
                guard let n = v.numeric else { throw TemplateError(.type, "%d format: a real number is required, not \(v.typeName)") }
                out += String(format: "%\(spec)ld", try integer(n))
            case "f", "e", "g", "x", "X", "o":
                let v = try nextArg()
                guard let n = v.numeric else { throw TemplateError(.type, "must be real number, not \(v.typeName)") }
                if "xXo".contains(conv) { out += String(format: "%\(spec)l\(conv)", try integer(n)) } else { out += String(format: "%\(spec)\(conv)", n) }
            default:
                throw TemplateError(.type, "unsupported format character '\(conv)'")
            }
        }
        chars.removeAll()
        if argIndex < argList.count, case .list(let l) = args, l.isTuple {
            throw TemplateError(.type, "not all arguments converted during string formatting")
        }
        return out
    }

    /// Python's `int(n)` for a format argument: infinities and NaN have no integer value.
    private static func integer(_ n: Double) throws -> Int {
        guard n.isFinite, abs(n) < 9.2e18 else { throw TemplateError(.type, "cannot convert float \(n) to integer") }
        return Int(n)
    }

    private static func pad(_ s: String, _ spec: String) throws -> String {
        let left = spec.hasPrefix("-")
        guard let w = Int(spec.trimmingCharacters(in: CharacterSet(charactersIn: "-"))), s.count < w else { return s }
        try Interpreter.checkStringSize(w)
        let fill = String(repeating: " ", count: w - s.count)
        return left ? s + fill : fill + s
    }
}
