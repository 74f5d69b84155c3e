/// Recursive-descent parser producing the AST, with jinja2's operator precedence:
/// conditional < or < and < not < comparison < `+ -` < `~` < `* / // %` < `**` < unary < postfix/filters/tests.
struct Parser {
    private let tokens: [Token]
    private var index = 0
    /// Nesting depth guard so hostile input cannot overflow the stack.
    private var depth = 0
    static let maxDepth = 150
    /// Upper bound on the height of one expression tree; see `makeExpr`.
    static let maxExpressionHeight = 200

    init(tokens: [Token]) { self.tokens = tokens }

    static func parse(_ source: String) throws -> [Node] {
        var p = Parser(tokens: try Lexer.tokenize(source))
        let (body, end) = try p.parseBody(until: [])
        if let end { throw p.syntaxError("Encountered unknown tag '\(end)'.", p.current) }
        try Validator.check(body, soft: false)
        return body
    }

    // MARK: token helpers

    private var current: Token { tokens[min(index, tokens.count - 1)] }
    private func peek(_ k: Int = 1) -> Token { tokens[min(index + k, tokens.count - 1)] }
    private mutating func advance() -> Token {
        let t = current
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    private func syntaxError(_ msg: String, _ tok: Token) -> TemplateError {
        TemplateError(.syntax, msg, line: tok.line, column: tok.column)
    }

    private mutating func expectOp(_ op: String) throws {
        guard current.isOp(op) else { throw syntaxError("expected '\(op)', got \(current.describe)", current) }
        _ = advance()
    }

    private mutating func expectName() throws -> String {
        guard let n = current.nameValue else { throw syntaxError("expected a name, got \(current.describe)", current) }
        _ = advance()
        return n
    }

    private mutating func expectBlockEnd() throws {
        guard case .blockEnd = current.kind else { throw syntaxError("expected end of statement block, got \(current.describe)", current) }
        _ = advance()
    }

    /// Builds an expression node, rejecting one taller than `maxExpressionHeight`. Operator
    /// chains (`a + a + …`, `x.a.b…`, `x|f|g…`) are built by loops, not recursion, so the
    /// parser's depth alone does not bound how deep evaluating or freeing the tree recurses.
    private func makeExpr(kind: Expr.Kind, pos: Position) throws -> Expr {
        let e = Expr(kind: kind, pos: pos)
        if e.height > Parser.maxExpressionHeight {
            throw syntaxError("expression nested too deeply (more than \(Parser.maxExpressionHeight) levels)", current)
        }
        return e
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Parser.maxDepth { throw syntaxError("template nesting too deep", current) }
    }

    // MARK: statements

    /// Parses nodes until a block tag whose name is in `until`; returns that name
    /// (the tag's `{%` and name are consumed, the rest of the tag is not).
    private mutating func parseBody(until: Set<String>) throws -> ([Node], String?) {
        try enter()
        defer { depth -= 1 }
        var nodes: [Node] = []
        while true {
            let tok = current
            switch tok.kind {
            case .eof:
                return (nodes, nil)
            case .text(let s):
                _ = advance()
                nodes.append(.text(s))
            case .variableBegin:
                _ = advance()
                let e = try parseExpression()
                guard case .variableEnd = current.kind else { throw syntaxError("expected end of print statement, got \(current.describe)", current) }
                _ = advance()
                nodes.append(.output(e))
            case .blockBegin:
                _ = advance()
                guard let name = current.nameValue else { throw syntaxError("tag name expected", current) }
                if until.contains(name) {
                    _ = advance()
                    return (nodes, name)
                }
                nodes.append(try parseStatement())
            default:
                throw syntaxError("unexpected \(tok.describe)", tok)
            }
        }
    }

    private mutating func parseStatement() throws -> Node {
        let tok = current
        let name = try expectName()
        switch name {
        case "if": return try parseIf()
        case "for": return try parseFor(tok)
        case "set": return try parseSet(tok)
        case "macro": return try parseMacro()
        case "call": return try parseCallBlock(tok)
        case "filter": return try parseFilterBlock()
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseRequired(until: ["endgeneration"], tag: tok)
            try expectBlockEnd()
            return .sequence(body)
        case "break":
            try expectBlockEnd()
            return .breakLoop(Position(tok))
        case "continue":
            try expectBlockEnd()
            return .continueLoop(Position(tok))
        default:
            throw syntaxError("Encountered unknown tag '\(name)'.", tok)
        }
    }

    private mutating func parseRequired(until: Set<String>, tag: Token) throws -> ([Node], String) {
        let (body, end) = try parseBody(until: until)
        guard let end else {
            throw syntaxError("Unexpected end of template. Jinja was looking for one of: \(until.sorted().joined(separator: ", "))", tag)
        }
        return (body, end)
    }

    private mutating func parseIf() throws -> Node {
        var branches: [(Expr, [Node])] = []
        var otherwise: [Node] = []
        var cond = try parseExpression()
        let tagTok = current
        try expectBlockEnd()
        while true {
            let (body, end) = try parseRequired(until: ["elif", "else", "endif"], tag: tagTok)
            branches.append((cond, body))
            if end == "elif" {
                cond = try parseExpression()
                try expectBlockEnd()
                continue
            }
            if end == "else" {
                try expectBlockEnd()
                let (elseBody, _) = try parseRequired(until: ["endif"], tag: tagTok)
                otherwise = elseBody
            }
            try expectBlockEnd()
            return .ifBlock(branches: branches, otherwise: otherwise)
        }
    }

    private mutating func parseAssignTarget(allowAttribute: Bool) throws -> AssignTarget {
        var items: [AssignTarget] = []
        var sawComma = false
        let paren = current.isOp("(")
        if paren { _ = advance() }
        while true {
            let n = try expectName()
            if allowAttribute && current.isOp(".") {
                _ = advance()
                let attr = try expectName()
                items.append(.attribute(n, attr))
            } else {
                items.append(.name(n))
            }
            if current.isOp(",") {
                sawComma = true
                _ = advance()
                if current.nameValue == nil { break }
                continue
            }
            break
        }
        if paren { try expectOp(")") }
        return (items.count == 1 && !sawComma) ? items[0] : .tuple(items)
    }

    private mutating func parseFor(_ tok: Token) throws -> Node {
        let target = try parseAssignTarget(allowAttribute: false)
        guard current.isName("in") else { throw syntaxError("expected 'in', got \(current.describe)", current) }
        _ = advance()
        // The iterable may not contain an unparenthesised inline-if (jinja2 parses with_condexpr=False).
        let iter = try parseTupleOrExpression(allowConditional: false)
        var condition: Expr? = nil
        if current.isName("if") {
            _ = advance()
            condition = try parseExpression()
        }
        var recursive = false
        if current.isName("recursive") { _ = advance(); recursive = true }
        try expectBlockEnd()
        let (body, end) = try parseRequired(until: ["endfor", "else"], tag: tok)
        var otherwise: [Node] = []
        if end == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseRequired(until: ["endfor"], tag: tok)
        }
        try expectBlockEnd()
        return .forLoop(ForLoop(target: target, iterable: iter, condition: condition, body: body, otherwise: otherwise, recursive: recursive, pos: Position(tok)))
    }

    private mutating func parseSet(_ tok: Token) throws -> Node {
        let target = try parseAssignTarget(allowAttribute: true)
        if current.isOp("=") {
            _ = advance()
            let value = try parseTupleOrExpression(allowConditional: true)
            try expectBlockEnd()
            return .set(target, value, Position(tok))
        }
        var filters: [FilterCall] = []
        while current.isOp("|") {
            _ = advance()
            filters.append(try parseFilterCall())
        }
        try expectBlockEnd()
        let (body, _) = try parseRequired(until: ["endset"], tag: tok)
        try expectBlockEnd()
        return .setBlock(target, filters: filters, body: body, Position(tok))
    }

    private mutating func parseParams() throws -> [(String, Expr?)] {
        var params: [(String, Expr?)] = []
        try expectOp("(")
        while !current.isOp(")") {
            let n = try expectName()
            var def: Expr? = nil
            if current.isOp("=") {
                _ = advance()
                def = try parseExpression()
            } else if params.contains(where: { $0.1 != nil }) {
                throw syntaxError("non-default argument follows default argument", current)
            }
            params.append((n, def))
            if current.isOp(",") { _ = advance() } else { break }
        }
        try expectOp(")")
        return params
    }

    private mutating func parseMacro() throws -> Node {
        let tok = current
        let name = try expectName()
        let params = try parseParams()
        try expectBlockEnd()
        let (body, _) = try parseRequired(until: ["endmacro"], tag: tok)
        // `{% endmacro name %}` is allowed.
        if current.nameValue != nil { _ = advance() }
        try expectBlockEnd()
        return .macro(MacroDef(name: name, params: params, body: body))
    }

    private mutating func parseCallBlock(_ tok: Token) throws -> Node {
        var params: [(String, Expr?)] = []
        if current.isOp("(") { params = try parseParams() }
        let call = try parseExpression()
        guard case .call = call.kind else { throw syntaxError("expected call", tok) }
        try expectBlockEnd()
        let (body, _) = try parseRequired(until: ["endcall"], tag: tok)
        try expectBlockEnd()
        return .callBlock(caller: MacroDef(name: "caller", params: params, body: body), call: call)
    }

    private mutating func parseFilterBlock() throws -> Node {
        let tok = current
        var filters = [try parseFilterCall()]
        while current.isOp("|") {
            _ = advance()
            filters.append(try parseFilterCall())
        }
        try expectBlockEnd()
        let (body, _) = try parseRequired(until: ["endfilter"], tag: tok)
        try expectBlockEnd()
        return .filterBlock(filters, body)
    }

    // MARK: expressions

    /// A bare comma-separated list (e.g. `{% set a = 1, 2 %}`) becomes a tuple.
    private mutating func parseTupleOrExpression(allowConditional: Bool) throws -> Expr {
        let first = allowConditional ? try parseExpression() : try parseOr()
        guard current.isOp(",") else { return first }
        var items = [first]
        while current.isOp(",") {
            _ = advance()
            if case .blockEnd = current.kind { break }
            items.append(allowConditional ? try parseExpression() : try parseOr())
        }
        return try makeExpr(kind: .tuple(items), pos: first.pos)
    }

    mutating func parseExpression() throws -> Expr {
        try enter()
        defer { depth -= 1 }
        let pos = Position(current)
        var expr = try parseOr()
        while current.isName("if") {
            _ = advance()
            let cond = try parseOr()
            var otherwise: Expr? = nil
            if current.isName("else") {
                _ = advance()
                otherwise = try parseExpression()
            }
            expr = try makeExpr(kind: .conditional(cond: cond, then: expr, otherwise: otherwise), pos: pos)
        }
        return expr
    }

    private mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while current.isName("or") {
            let pos = Position(advance())
            let right = try parseAnd()
            left = try makeExpr(kind: .logical(isAnd: false, left, right), pos: pos)
        }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while current.isName("and") {
            let pos = Position(advance())
            let right = try parseNot()
            left = try makeExpr(kind: .logical(isAnd: true, left, right), pos: pos)
        }
        return left
    }

    private mutating func parseNot() throws -> Expr {
        if current.isName("not") {
            let pos = Position(advance())
            try enter()
            defer { depth -= 1 }
            return try makeExpr(kind: .unary("not", try parseNot()), pos: pos)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let left = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                _ = advance()
                ops.append((o, try parseMath1()))
            } else if current.isName("in") {
                _ = advance()
                ops.append(("in", try parseMath1()))
            } else if current.isName("not") && peek().isName("in") {
                _ = advance(); _ = advance()
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return try ops.isEmpty ? left : makeExpr(kind: .compare(left, ops), pos: left.pos)
    }

    private mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while current.isOp("+") || current.isOp("-") {
            guard case .op(let o) = advance().kind else { break }
            let right = try parseConcat()
            left = try makeExpr(kind: .binary(o, left, right), pos: left.pos)
        }
        return left
    }

    private mutating func parseConcat() throws -> Expr {
        var left = try parseMath2()
        while current.isOp("~") {
            _ = advance()
            let right = try parseMath2()
            left = try makeExpr(kind: .binary("~", left, right), pos: left.pos)
        }
        return left
    }

    private mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while true {
            guard case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) else { break }
            _ = advance()
            let right = try parsePow()
            left = try makeExpr(kind: .binary(o, left, right), pos: left.pos)
        }
        return left
    }

    private mutating func parsePow() throws -> Expr {
        var left = try parseUnary(withFilter: true)
        while current.isOp("**") {
            _ = advance()
            let right = try parseUnary(withFilter: true)
            left = try makeExpr(kind: .binary("**", left, right), pos: left.pos)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        let pos = Position(current)
        var node: Expr
        if current.isOp("-") {
            _ = advance()
            node = try makeExpr(kind: .unary("-", try parseUnary(withFilter: false)), pos: pos)
        } else if current.isOp("+") {
            _ = advance()
            node = try makeExpr(kind: .unary("+", try parseUnary(withFilter: false)), pos: pos)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterAndTests(node) }
        return node
    }

    private mutating func parsePrimary() throws -> Expr {
        let tok = current
        let pos = Position(tok)
        switch tok.kind {
        case .name(let n):
            _ = advance()
            switch n {
            case "true", "True": return try makeExpr(kind: .literal(.bool(true)), pos: pos)
            case "false", "False": return try makeExpr(kind: .literal(.bool(false)), pos: pos)
            case "none", "None": return try makeExpr(kind: .literal(.none), pos: pos)
            default: return try makeExpr(kind: .name(n), pos: pos)
            }
        case .string(var s):
            _ = advance()
            // Adjacent string literals concatenate, as in Python.
            while case .string(let more) = current.kind { s += more; _ = advance() }
            return try makeExpr(kind: .literal(.string(s)), pos: pos)
        case .integer(let i):
            _ = advance()
            return try makeExpr(kind: .literal(.int(i)), pos: pos)
        case .float(let d):
            _ = advance()
            return try makeExpr(kind: .literal(.double(d)), pos: pos)
        case .op("("):
            _ = advance()
            if current.isOp(")") { _ = advance(); return try makeExpr(kind: .tuple([]), pos: pos) }
            let first = try parseExpression()
            if current.isOp(")") { _ = advance(); return first }
            var items = [first]
            while current.isOp(",") {
                _ = advance()
                if current.isOp(")") { break }
                items.append(try parseExpression())
            }
            try expectOp(")")
            return try makeExpr(kind: .tuple(items), pos: pos)
        case .op("["):
            _ = advance()
            var items: [Expr] = []
            while !current.isOp("]") {
                items.append(try parseExpression())
                if current.isOp(",") { _ = advance() } else { break }
            }
            try expectOp("]")
            return try makeExpr(kind: .list(items), pos: pos)
        case .op("{"):
            _ = advance()
            var pairs: [(Expr, Expr)] = []
            while !current.isOp("}") {
                let k = try parseExpression()
                try expectOp(":")
                let v = try parseExpression()
                pairs.append((k, v))
                if current.isOp(",") { _ = advance() } else { break }
            }
            try expectOp("}")
            return try makeExpr(kind: .dict(pairs), pos: pos)
        default:
            throw syntaxError("unexpected \(tok.describe)", tok)
        }
    }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let tok = current
            if tok.isOp(".") {
                _ = advance()
                if let n = current.nameValue {
                    _ = advance()
                    node = try makeExpr(kind: .getAttr(node, n), pos: Position(tok))
                } else if case .integer(let i) = current.kind {
                    _ = advance()
                    node = try makeExpr(kind: .getItem(node, makeExpr(kind: .literal(.int(i)), pos: Position(tok))), pos: Position(tok))
                } else {
                    throw syntaxError("expected name or number after '.'", current)
                }
            } else if tok.isOp("[") {
                _ = advance()
                node = try parseSubscript(node, Position(tok))
            } else if tok.isOp("(") {
                node = try makeExpr(kind: .call(node, try parseCallArgs()), pos: Position(tok))
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ target: Expr, _ pos: Position) throws -> Expr {
        var parts: [Expr?] = []
        var isSlice = false
        var cur: Expr? = nil
        while true {
            if current.isOp("]") { break }
            if current.isOp(":") {
                _ = advance()
                isSlice = true
                parts.append(cur)
                cur = nil
                continue
            }
            cur = try parseExpression()
            if current.isOp(",") {
                throw syntaxError("tuple subscripts are not supported", current)
            }
        }
        try expectOp("]")
        if !isSlice {
            guard let idx = cur else { throw syntaxError("expected subscript expression", current) }
            return try makeExpr(kind: .getItem(target, idx), pos: pos)
        }
        parts.append(cur)
        guard parts.count <= 3 else { throw syntaxError("invalid slice", current) }
        return try makeExpr(kind: .slice(target, start: parts[0], stop: parts.count > 1 ? parts[1] : nil, step: parts.count > 2 ? parts[2] : nil), pos: pos)
    }

    private mutating func parseCallArgs() throws -> ArgList {
        try expectOp("(")
        var args = ArgList()
        while !current.isOp(")") {
            if let n = current.nameValue, peek().isOp("=") {
                _ = advance(); _ = advance()
                args.keyword.append((n, try parseExpression()))
            } else {
                if !args.keyword.isEmpty { throw syntaxError("positional argument follows keyword argument", current) }
                args.positional.append(try parseExpression())
            }
            if current.isOp(",") { _ = advance() } else { break }
        }
        try expectOp(")")
        return args
    }

    private mutating func parseFilterCall() throws -> FilterCall {
        let tok = current
        var name = try expectName()
        while current.isOp(".") { _ = advance(); name += "." + (try expectName()) }
        var args = ArgList()
        if current.isOp("(") { args = try parseCallArgs() }
        return FilterCall(name: name, args: args, pos: Position(tok))
    }

    private mutating func parseFilterAndTests(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if current.isOp("|") {
                _ = advance()
                let f = try parseFilterCall()
                node = try makeExpr(kind: .filter(node, name: f.name, f.args), pos: f.pos)
            } else if current.isName("is") {
                let tok = advance()
                var negated = false
                if current.isName("not") { _ = advance(); negated = true }
                let name = try expectName()
                var args = ArgList()
                if current.isOp("(") {
                    args = try parseCallArgs()
                } else if startsTestArgument {
                    let arg = try parsePostfix(try parsePrimary())
                    args.positional = [arg]
                }
                node = try makeExpr(kind: .test(node, name: name, args, negated: negated), pos: Position(tok))
            } else {
                return node
            }
        }
    }

    /// jinja2 lets a test take one argument without parentheses (`x is divisibleby 3`).
    private var startsTestArgument: Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and", "if", "is", "in", "not"].contains(n)
        case .string, .integer, .float: return true
        case .op(let o): return o == "[" || o == "{"
        default: return false
        }
    }
}

/// Compile-time check for unknown filters and tests, as jinja2 3.x does it: an unknown
/// name is a syntax error, except inside an `{% if %}` or inline-if where jinja2 defers
/// the error to runtime (so `{% if x is string %}{{ x | from_json }}{% endif %}` renders
/// while the branch is not taken). For-loop and macro bodies are checked strictly again.
enum Validator {
    static func check(_ nodes: [Node], soft: Bool) throws {
        for n in nodes { try check(n, soft: soft) }
    }

    static func check(_ node: Node, soft: Bool) throws {
        switch node {
        case .text, .breakLoop, .continueLoop: break
        case .output(let e): try check(e, soft: soft)
        case .ifBlock(let branches, let otherwise):
            for (c, b) in branches { try check(c, soft: true); try check(b, soft: true) }
            try check(otherwise, soft: true)
        case .forLoop(let f):
            try check(f.iterable, soft: soft)
            if let c = f.condition { try check(c, soft: false) }
            try check(f.body, soft: false)
            try check(f.otherwise, soft: false)
        case .set(_, let e, _): try check(e, soft: soft)
        case .setBlock(_, let filters, let body, _):
            for f in filters { try checkFilter(f.name, f.pos, soft: soft) }
            try check(body, soft: soft)
        case .macro(let m):
            for (_, d) in m.params { if let d { try check(d, soft: false) } }
            try check(m.body, soft: false)
        case .callBlock(let caller, let call):
            try check(caller.body, soft: false)
            try check(call, soft: soft)
        case .filterBlock(let filters, let body):
            for f in filters { try checkFilter(f.name, f.pos, soft: soft) }
            try check(body, soft: soft)
        case .sequence(let body): try check(body, soft: soft)
        }
    }

    private static func checkFilter(_ name: String, _ pos: Position, soft: Bool) throws {
        if !soft && !Filters.known.contains(name) {
            throw TemplateError(.syntax, "No filter named '\(name)'.", line: pos.line, column: pos.column)
        }
    }

    private static func check(_ args: ArgList, soft: Bool) throws {
        for e in args.positional { try check(e, soft: soft) }
        for (_, e) in args.keyword { try check(e, soft: soft) }
    }

    static func check(_ e: Expr, soft: Bool) throws {
        switch e.kind {
        case .literal, .name: break
        case .list(let xs), .tuple(let xs): for x in xs { try check(x, soft: soft) }
        case .dict(let pairs): for (k, v) in pairs { try check(k, soft: soft); try check(v, soft: soft) }
        case .getAttr(let o, _): try check(o, soft: soft)
        case .getItem(let o, let k): try check(o, soft: soft); try check(k, soft: soft)
        case .slice(let o, let a, let b, let c):
            try check(o, soft: soft)
            for x in [a, b, c] { if let x { try check(x, soft: soft) } }
        case .call(let f, let args): try check(f, soft: soft); try check(args, soft: soft)
        case .filter(let v, let name, let args):
            try checkFilter(name, e.pos, soft: soft)
            try check(v, soft: soft); try check(args, soft: soft)
        case .test(let v, let name, let args, _):
            if !soft && !Tests.known.contains(name) {
                throw TemplateError(.syntax, "No test named '\(name)'.", line: e.pos.line, column: e.pos.column)
            }
            try check(v, soft: soft); try check(args, soft: soft)
        case .unary(_, let x): try check(x, soft: soft)
        case .binary(_, let a, let b), .logical(_, let a, let b): try check(a, soft: soft); try check(b, soft: soft)
        case .compare(let a, let rest):
            try check(a, soft: soft)
            for (_, x) in rest { try check(x, soft: soft) }
        case .conditional(let c, let t, let o):
            try check(c, soft: true); try check(t, soft: true)
            if let o { try check(o, soft: true) }
        }
    }
}
