/// A variable scope. jinja2 gives each for-loop iteration and each macro call a fresh
/// scope (assignments there don't leak out), while `if` shares its parent's scope.
final class Scope {
    var vars: [String: Value]
    let parent: Scope?

    init(parent: Scope?, vars: [String: Value] = [:]) {
        self.parent = parent
        self.vars = vars
    }

    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let cur = s {
            if let v = cur.vars[name] { return v }
            s = cur.parent
        }
        return nil
    }
}

/// Tree-walking evaluator for the parsed template. One instance renders once.
final class Interpreter {
    /// Control-flow signal returned from statement execution (`{% break %}` / `{% continue %}`).
    enum Flow { case normal, breakLoop, continueLoop }

    /// Rendered output so far; captured-output constructs swap it temporarily.
    var out = ""
    private var callDepth = 0
    private var iterations = 0
    /// Statements and expressions evaluated so far, against `options.maxSteps`.
    private var steps = 0
    /// Every macro made during this render, for `finish`.
    private var macros: [FunctionBox] = []
    /// Statements and expressions being evaluated inside one another right now (each is a
    /// few stack frames; macros and recursive loops nest their bodies' evaluation).
    private var nesting = 0
    let options: RenderOptions

    static let maxCallDepth = 100
    static let maxIterations = 1_000_000
    static let maxOutputBytes = 64 << 20
    /// Upper bound on `nesting`: what keeps rendering within a small thread stack, since
    /// `maxCallDepth` macro calls each nest up to `Parser.maxDepth` levels.
    static let maxNesting = 400
    /// Upper bound on the elements of one list built by `+` or `*`.
    static let maxListItems = 1 << 22

    /// Throws unless a string of `bytes` bytes is small enough to build.
    static func checkStringSize(_ bytes: Int) throws {
        if bytes < 0 || bytes > maxOutputBytes {
            throw TemplateError(.limit, "string would exceed \(maxOutputBytes) bytes")
        }
    }

    /// Counts one step and one level of nesting; callers pair it with `nesting -= 1`.
    private func enterStep(_ pos: Position?) throws {
        steps += 1
        if steps > options.maxSteps {
            throw TemplateError(.limit, "template evaluation exceeded \(options.maxSteps) steps",
                                line: pos?.line ?? 0, column: pos?.column ?? 0)
        }
        if nesting >= Interpreter.maxNesting {
            throw TemplateError(.limit, "template evaluation nested more than \(Interpreter.maxNesting) levels deep",
                                line: pos?.line ?? 0, column: pos?.column ?? 0)
        }
        nesting += 1
    }

    init(options: RenderOptions) { self.options = options }

    // MARK: statements

    func exec(_ nodes: [Node], _ scope: Scope) throws -> Flow {
        for node in nodes {
            let flow = try exec(node, scope)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    private func exec(_ node: Node, _ scope: Scope) throws -> Flow {
        try enterStep(nil)
        defer { nesting -= 1 }
        switch node {
        case .text(let s):
            out += s
            if out.utf8.count > Interpreter.maxOutputBytes {
                throw TemplateError(.limit, "output exceeds \(Interpreter.maxOutputBytes) bytes")
            }
        case .output(let e):
            let v = try eval(e, scope)
            do { try ValueLimits.check(v) } catch let err as TemplateError { throw err.at(e.pos.line, e.pos.column) }
            write(v)
            if out.utf8.count > Interpreter.maxOutputBytes {
                throw TemplateError(.limit, "output exceeds \(Interpreter.maxOutputBytes) bytes", line: e.pos.line, column: e.pos.column)
            }
        case .ifBlock(let branches, let otherwise):
            for (cond, body) in branches where try eval(cond, scope).truthy {
                return try exec(body, scope)
            }
            return try exec(otherwise, scope)
        case .forLoop(let f):
            let iterable = try eval(f.iterable, scope)
            let items: [Value]
            do { items = try iterable.iterate() } catch let e as TemplateError { throw e.at(f.pos.line, f.pos.column) }
            try runLoop(f, items: items, scope: scope, depth0: 0)
        case .set(let target, let e, let pos):
            let v = try eval(e, scope)
            try assign(target, v, scope, pos)
        case .setBlock(let target, let filters, let body, let pos):
            var v = Value.string(try capture { _ = try exec(body, scope) })
            for f in filters { v = try applyFilter(f.name, v, f.args, scope, f.pos) }
            try assign(target, v, scope, pos)
        case .macro(let def):
            scope.vars[def.name] = makeMacro(def, scope: scope, caller: nil)
        case .callBlock(let callerDef, let call):
            guard case .call(let calleeExpr, let args) = call.kind else { break }
            let caller = makeMacro(callerDef, scope: scope, caller: nil)
            let callee = try eval(calleeExpr, scope)
            var a = try evalArgs(args, scope)
            a.keyword.append(("caller", caller))
            let v = try invoke(callee, a, pos: call.pos)
            write(v)
        case .filterBlock(let filters, let body):
            var v = Value.string(try capture { _ = try exec(body, scope) })
            for f in filters { v = try applyFilter(f.name, v, f.args, scope, f.pos) }
            write(v)
        case .sequence(let body):
            return try exec(body, scope)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private func write(_ v: Value) {
        switch v {
        case .string(let s), .markup(let s): out += s
        case .undefined: break
        default: out += v.pythonStr
        }
    }

    /// Runs `body` with a fresh output buffer and returns what it rendered.
    func capture(_ body: () throws -> Void) throws -> String {
        let saved = out
        out = ""
        defer { out = saved }
        try body()
        return out
    }

    private func runLoop(_ f: ForLoop, items allItems: [Value], scope: Scope, depth0: Int) throws {
        var items = allItems
        if let cond = f.condition {
            // The inline filter sees the loop target but not `loop`.
            items = try allItems.filter { item in
                let s = Scope(parent: scope)
                try assign(f.target, item, s, f.pos)
                return try eval(cond, s).truthy
            }
        }
        if items.isEmpty {
            _ = try exec(f.otherwise, scope)
            return
        }
        let loop = LoopBox(items: items, depth0: depth0)
        // The closure captures the enclosing scope, which the body may store `loop` into.
        defer { loop.recurse = nil }
        if f.recursive {
            loop.recurse = { [unowned self] value in
                let sub = try value.iterate()
                self.callDepth += 1
                defer { self.callDepth -= 1 }
                if self.callDepth > Interpreter.maxCallDepth {
                    throw TemplateError(.limit, "maximum recursion depth exceeded", line: f.pos.line, column: f.pos.column)
                }
                return .string(try self.capture { try self.runLoop(f, items: sub, scope: scope, depth0: depth0 + 1) })
            }
        }
        for (i, item) in items.enumerated() {
            iterations += 1
            if iterations > Interpreter.maxIterations {
                throw TemplateError(.limit, "too many loop iterations", line: f.pos.line, column: f.pos.column)
            }
            loop.index0 = i
            let s = Scope(parent: scope)
            try assign(f.target, item, s, f.pos)
            s.vars["loop"] = .loop(loop)
            let flow = try exec(f.body, s)
            if case .breakLoop = flow { break }
        }
    }

    private func assign(_ target: AssignTarget, _ v: Value, _ scope: Scope, _ pos: Position) throws {
        switch target {
        case .name(let n):
            scope.vars[n] = v
        case .tuple(let targets):
            let items: [Value]
            do { items = try v.iterate() } catch let e as TemplateError { throw e.at(pos.line, pos.column) }
            guard items.count == targets.count else {
                let msg = items.count < targets.count
                    ? "not enough values to unpack (expected \(targets.count), got \(items.count))"
                    : "too many values to unpack (expected \(targets.count))"
                throw TemplateError(.type, msg, line: pos.line, column: pos.column)
            }
            for (t, item) in zip(targets, items) { try assign(t, item, scope, pos) }
        case .attribute(let obj, let attr):
            guard case .namespace(let ns)? = scope.lookup(obj) else {
                throw TemplateError(.type, "cannot assign attribute on non-namespace object", line: pos.line, column: pos.column)
            }
            ns[attr] = v
        }
    }

    // MARK: macros and calls

    /// Breaks the reference cycles a render creates (see `FunctionBox.dispose`); call once the
    /// output has been taken.
    func finish() {
        for m in macros { m.dispose() }
        macros = []
    }

    func makeMacro(_ def: MacroDef, scope: Scope, caller: Value?) -> Value {
        let box = makeMacroBox(def, scope: scope)
        macros.append(box)
        return .function(box)
    }

    private func makeMacroBox(_ def: MacroDef, scope: Scope) -> FunctionBox {
        FunctionBox(name: def.name) { [unowned self] args in
            self.callDepth += 1
            defer { self.callDepth -= 1 }
            if self.callDepth > Interpreter.maxCallDepth {
                throw TemplateError(.limit, "maximum recursion depth exceeded in macro '\(def.name)'")
            }
            let s = Scope(parent: scope)
            var extraKw: [(String, Value)] = []
            for (k, v) in args.keyword {
                if k == "caller" { s.vars["caller"] = v; continue }
                if def.params.contains(where: { $0.0 == k }) { continue }
                extraKw.append((k, v))
            }
            for (i, (name, def)) in def.params.enumerated() {
                if let v = args.keyword.first(where: { $0.0 == name })?.1 {
                    s.vars[name] = v
                } else if i < args.positional.count {
                    s.vars[name] = args.positional[i]
                } else if let d = def {
                    s.vars[name] = try self.eval(d, s)
                } else {
                    s.vars[name] = .undefined("'\(name)' is undefined")
                }
            }
            s.vars["varargs"] = .tuple(Array(args.positional.dropFirst(def.params.count)))
            s.vars["kwargs"] = .dict(DictBox(extraKw))
            let text = try self.capture { _ = try self.exec(def.body, s) }
            return .string(text)
        }
    }

    func invoke(_ callee: Value, _ args: Arguments, pos: Position) throws -> Value {
        switch callee {
        case .function(let f): return try f.call(args)
        case .loop(let l):
            guard let r = l.recurse, let first = args.positional.first else {
                throw TemplateError(.type, "'LoopContext' object is not callable")
            }
            return try r(first)
        case .undefined(let hint): throw Value.undefinedError(hint)
        default: throw TemplateError(.type, "'\(callee.typeName)' object is not callable")
        }
    }

    func evalArgs(_ args: ArgList, _ scope: Scope) throws -> Arguments {
        var a = Arguments()
        a.positional.reserveCapacity(args.positional.count)
        for e in args.positional { a.positional.append(try eval(e, scope)) }
        for (k, e) in args.keyword { a.keyword.append((k, try eval(e, scope))) }
        return a
    }

    func applyFilter(_ name: String, _ v: Value, _ args: ArgList, _ scope: Scope, _ pos: Position) throws -> Value {
        let a = try evalArgs(args, scope)
        do {
            return try Filters.apply(name, v, a, self)
        } catch let e as TemplateError {
            throw e.at(pos.line, pos.column)
        }
    }

    // MARK: expressions

    func eval(_ e: Expr, _ scope: Scope) throws -> Value {
        do {
            try enterStep(e.pos)
            defer { nesting -= 1 }
            return try evalInner(e, scope)
        } catch let err as TemplateError {
            throw err.at(e.pos.line, e.pos.column)
        }
    }

    private func evalInner(_ e: Expr, _ scope: Scope) throws -> Value {
        switch e.kind {
        case .literal(let l):
            switch l {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        case .name(let n):
            return scope.lookup(n) ?? .undefined("'\(n)' is undefined")
        case .list(let items):
            return .list(try items.map { try eval($0, scope) })
        case .tuple(let items):
            return .tuple(try items.map { try eval($0, scope) })
        case .dict(let pairs):
            let d = DictBox()
            for (k, v) in pairs {
                let key = try eval(k, scope)
                d[value: key] = try eval(v, scope)
            }
            return .dict(d)
        case .getAttr(let obj, let name):
            return try Interpreter.getAttr(try eval(obj, scope), name)
        case .getItem(let obj, let key):
            return try Interpreter.getItem(try eval(obj, scope), try eval(key, scope))
        case .slice(let obj, let start, let stop, let step):
            let o = try eval(obj, scope)
            let st = try start.map { try eval($0, scope) }
            let sp = try stop.map { try eval($0, scope) }
            let sep = try step.map { try eval($0, scope) }
            return try Interpreter.slice(o, st, sp, sep)
        case .call(let calleeExpr, let args):
            let callee = try eval(calleeExpr, scope)
            let a = try evalArgs(args, scope)
            return try invoke(callee, a, pos: e.pos)
        case .filter(let value, let name, let args):
            // `default` must see Undefined itself, so evaluate the operand normally.
            let v = try eval(value, scope)
            return try applyFilter(name, v, args, scope, e.pos)
        case .test(let value, let name, let args, let negated):
            let v = try eval(value, scope)
            let a = try evalArgs(args, scope)
            let r = try Tests.apply(name, v, a, self)
            return .bool(negated ? !r : r)
        case .unary(let op, let operand):
            let v = try eval(operand, scope)
            switch op {
            case "not": return .bool(!v.truthy)
            case "-":
                switch v {
                case .int(let i): return .int(-i)
                case .double(let d): return .double(-d)
                case .bool(let b): return .int(b ? -1 : 0)
                case .undefined(let h): throw Value.undefinedError(h)
                default: throw TemplateError(.type, "bad operand type for unary -: '\(v.typeName)'")
                }
            default:
                switch v {
                case .int, .double: return v
                case .bool(let b): return .int(b ? 1 : 0)
                case .undefined(let h): throw Value.undefinedError(h)
                default: throw TemplateError(.type, "bad operand type for unary +: '\(v.typeName)'")
                }
            }
        case .binary(let op, let l, let r):
            let a = try eval(l, scope)
            let b = try eval(r, scope)
            if op == "+" && options.concatenatesMissingStrings,
               let joined = Operators.concatenatingMissing(a.demoted, b.demoted) {
                if case .string(let s) = joined { try Interpreter.checkStringSize(s.utf8.count) }
                return joined
            }
            let v = try Operators.binary(op, a, b)
            switch v {
            case .string(let s), .markup(let s): try Interpreter.checkStringSize(s.utf8.count)
            case .list(let l) where l.items.count > Interpreter.maxListItems:
                throw TemplateError(.limit, "list would exceed \(Interpreter.maxListItems) items")
            default: break
            }
            return v
        case .logical(let isAnd, let l, let r):
            // Python semantics: returns the deciding operand, not a bool.
            let a = try eval(l, scope)
            if isAnd { return a.truthy ? try eval(r, scope) : a }
            return a.truthy ? a : try eval(r, scope)
        case .compare(let first, let rest):
            var left = try eval(first, scope)
            for (op, rexpr) in rest {
                let right = try eval(rexpr, scope)
                if !(try Operators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let cond, let then, let otherwise):
            if try eval(cond, scope).truthy { return try eval(then, scope) }
            if let o = otherwise { return try eval(o, scope) }
            return .undefined("the inline if-expression evaluated to false and no else section was defined.")
        }
    }

    // MARK: attribute / item access (jinja2's environment.getattr / getitem)

    /// `obj.name`: Python attributes (methods) win over dict keys, as in jinja2.
    static func getAttr(_ obj: Value, _ name: String) throws -> Value {
        let obj = obj.demoted
        switch obj {
        case .undefined(let hint):
            throw Value.undefinedError(hint)
        case .dict(let d):
            if let m = Methods.bind(obj, name) { return m }
            if let v = d[name] { return v }
            return .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let d):
            return d[name] ?? .undefined("'Namespace object' has no attribute '\(name)'")
        case .loop(let l):
            return loopAttr(l, name)
        default:
            if let m = Methods.bind(obj, name) { return m }
            return .undefined("'\(obj.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `obj[key]`: item lookup first, then attribute (jinja2's getitem fallback).
    static func getItem(_ obj: Value, _ key: Value) throws -> Value {
        let obj = obj.demoted, key = key.demoted
        switch obj {
        case .undefined(let hint):
            throw Value.undefinedError(hint)
        case .dict(let d):
            if case .undefined(let h) = key { throw Value.undefinedError(h) }
            if let v = d[value: key] { return v }
        case .namespace(let d):
            if let v = d[value: key] { return v }
        case .list(let l):
            if let i = key.intLike {
                let idx = i < 0 ? l.items.count + i : i
                if idx >= 0 && idx < l.items.count { return l.items[idx] }
                return .undefined("list object has no element \(i)")
            }
        case .string(let s):
            if let i = key.intLike {
                let scalars = Array(s.unicodeScalars)
                let idx = i < 0 ? scalars.count + i : i
                if idx >= 0 && idx < scalars.count { return .string(String(scalars[idx])) }
                return .undefined("str object has no element \(i)")
            }
        case .loop(let l):
            if case .string(let n) = key { return loopAttr(l, n) }
        default:
            break
        }
        if case .string(let name) = key { return try getAttr(obj, name) }
        return .undefined("'\(obj.typeName) object' has no attribute '\(key.pythonStr)'")
    }

    private static func loopAttr(_ l: LoopBox, _ name: String) -> Value {
        let n = l.items.count
        switch name {
        case "index": return .int(l.index0 + 1)
        case "index0": return .int(l.index0)
        case "revindex": return .int(n - l.index0)
        case "revindex0": return .int(n - l.index0 - 1)
        case "first": return .bool(l.index0 == 0)
        case "last": return .bool(l.index0 == n - 1)
        case "length": return .int(n)
        case "depth": return .int(l.depth0 + 1)
        case "depth0": return .int(l.depth0)
        case "previtem": return l.index0 > 0 ? l.items[l.index0 - 1] : .undefined("there is no previous item")
        case "nextitem": return l.index0 + 1 < n ? l.items[l.index0 + 1] : .undefined("there is no next item")
        case "cycle":
            return .function(FunctionBox(name: "cycle") { args in
                guard !args.positional.isEmpty else { throw TemplateError(.type, "no items for cycling given") }
                return args.positional[l.index0 % args.positional.count]
            })
        case "changed":
            return .function(FunctionBox(name: "changed") { _ in .bool(true) })
        default: return .undefined("'LoopContext object' has no attribute '\(name)'")
        }
    }

    /// Python slicing `obj[start:stop:step]` on lists, tuples and strings.
    static func slice(_ obj: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        func intOrNil(_ v: Value?) throws -> Int? {
            guard let v else { return nil }
            switch v {
            case .none, .undefined: return nil
            default:
                guard let i = v.intLike else { throw TemplateError(.type, "slice indices must be integers or None") }
                return i
            }
        }
        let st = try intOrNil(step) ?? 1
        guard st != 0 else { throw TemplateError(.type, "slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            var a = try intOrNil(start)
            var b = try intOrNil(stop)
            if st > 0 {
                var lo = a ?? 0
                var hi = b ?? count
                if lo < 0 { lo = max(0, lo + count) }
                if hi < 0 { hi = max(0, hi + count) }
                lo = min(lo, count); hi = min(hi, count)
                return lo < hi ? Array(stride(from: lo, to: hi, by: st)) : []
            } else {
                if let x = a { a = x < 0 ? max(-1, x + count) : min(x, count - 1) }
                if let y = b { b = y < 0 ? max(-1, y + count) : min(y, count - 1) }
                let hi = a ?? count - 1
                let lo = b ?? -1
                return hi > lo ? Array(stride(from: hi, to: lo, by: st)) : []
            }
        }
        switch obj.demoted {
        case .list(let l):
            let idx = try indices(l.items.count)
            return .list(ListBox(idx.map { l.items[$0] }, isTuple: l.isTuple))
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            let idx = try indices(scalars.count)
            var r = String.UnicodeScalarView()
            for i in idx { r.append(scalars[i]) }
            return .string(String(r))
        case .undefined(let h):
            throw Value.undefinedError(h)
        default:
            return .undefined("'\(obj.typeName)' object is not subscriptable")
        }
    }
}
