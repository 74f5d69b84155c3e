/// jinja2's built-in tests (`value is name(args)`), following Python's type checks.
enum Tests {
    /// Names accepted at parse time; jinja2 rejects unknown tests when compiling.
    static let known: Set<String> = [
        "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "mapping",
        "iterable", "sequence", "callable", "true", "false", "odd", "even", "divisibleby", "eq", "equalto",
        "==", "ne", "!=", "lt", "lessthan", "<", "gt", "greaterthan", ">", "le", "<=", "ge", ">=", "in",
        "sameas", "lower", "upper", "escaped", "filter", "test",
    ]

    static func apply(_ name: String, _ v: Value, _ a: Arguments, _ interp: Interpreter) throws -> Bool {
        let v = v.demoted
        func arg() throws -> Value {
            guard let x = a.positional.first ?? a.keyword.first?.1 else {
                throw TemplateError(.type, "test '\(name)' requires an argument")
            }
            return x
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "string": if case .string = v { return true }; return false
        case "number":
            switch v { case .int, .double, .bool: return true; default: return false }
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "iterable":
            // Undefined defines __iter__ in jinja2, so it counts as iterable.
            switch v { case .list, .dict, .string, .undefined, .loop: return true; default: return false }
        case "sequence":
            switch v { case .list, .dict, .string, .undefined: return true; default: return false }
        case "callable":
            switch v { case .function, .loop: return true; default: return false }
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "odd", "even":
            guard let i = v.intLike else {
                if case .undefined(let h) = v { throw Value.undefinedError(h) }
                throw TemplateError(.type, "not all arguments converted during string formatting")
            }
            return (abs(i) % 2 == 1) == (name == "odd")
        case "divisibleby":
            guard let i = v.intLike, let d = try arg().intLike else { throw TemplateError(.type, "divisibleby requires integers") }
            guard d != 0 else { throw TemplateError(.type, "integer division or modulo by zero") }
            return i % d == 0
        case "eq", "equalto", "==": return v.pyEquals(try arg())
        case "ne", "!=": return !v.pyEquals(try arg())
        case "lt", "lessthan", "<": return try v.pyLess(try arg())
        case "gt", "greaterthan", ">": return try arg().pyLess(v)
        case "le", "<=": let b = try arg(); return try v.pyLess(b) || v.pyEquals(b)
        case "ge", ">=": let b = try arg(); return try b.pyLess(v) || v.pyEquals(b)
        case "in": return try Operators.contains(try arg(), v)
        case "sameas":
            let b = try arg()
            switch (v, b) {
            case (.none, .none): return true
            case let (.bool(x), .bool(y)): return x == y
            case let (.list(x), .list(y)): return x === y
            case let (.dict(x), .dict(y)): return x === y
            default: return false
            }
        case "lower": if case .string(let s) = v { return s == s.lowercased() }; return false
        case "upper": if case .string(let s) = v { return s == s.uppercased() }; return false
        case "escaped": return false
        case "filter": return Filters.known.contains(try arg().pythonStr)
        case "test": return known.contains(try arg().pythonStr)
        default:
            throw TemplateError(.syntax, "No test named '\(name)' found.")
        }
    }
}
