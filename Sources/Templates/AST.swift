/// Constant values that can appear literally in template source.
enum Literal: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
}

/// A source position carried by AST nodes so runtime errors can point at the template.
struct Position: Sendable {
    let line: Int
    let column: Int
    init(_ token: Token) { line = token.line; column = token.column }
    init(line: Int, column: Int) { self.line = line; self.column = column }
}

/// Arguments of a call/filter/test as written in the source: positional then keyword.
struct ArgList: Sendable {
    var positional: [Expr] = []
    var keyword: [(String, Expr)] = []
}

/// An expression node with its position.
struct Expr: Sendable {
    indirect enum Kind: Sendable {
        case literal(Literal)
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(Expr, Expr)])
        case getAttr(Expr, String)
        case getItem(Expr, Expr)
        case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
        case call(Expr, ArgList)
        /// `value | name(args)`; value is nil only inside `{% filter %}` chains.
        case filter(Expr, name: String, ArgList)
        /// `value is [not] name(args)`.
        case test(Expr, name: String, ArgList, negated: Bool)
        case unary(String, Expr)
        case binary(String, Expr, Expr)
        /// `and` / `or` short-circuit.
        case logical(isAnd: Bool, Expr, Expr)
        /// Chained comparison `a < b < c`.
        case compare(Expr, [(String, Expr)])
        /// `a if cond else b` (`b` nil means undefined).
        case conditional(cond: Expr, then: Expr, otherwise: Expr?)
    }
    let kind: Kind
    let pos: Position
    /// Levels of expressions from this node down to its deepest leaf (a leaf is 1).
    let height: Int

    init(kind: Kind, pos: Position) {
        self.kind = kind
        self.pos = pos
        height = 1 + Expr.tallestChild(kind)
    }

    private static func tallestChild(_ kind: Kind) -> Int {
        func tallest(_ args: ArgList) -> Int {
            max(args.positional.map(\.height).max() ?? 0, args.keyword.map(\.1.height).max() ?? 0)
        }
        switch kind {
        case .literal, .name: return 0
        case .list(let items), .tuple(let items): return items.map(\.height).max() ?? 0
        case .dict(let pairs): return pairs.map { max($0.0.height, $0.1.height) }.max() ?? 0
        case .getAttr(let e, _): return e.height
        case .getItem(let a, let b): return max(a.height, b.height)
        case .slice(let e, let start, let stop, let step):
            return max(e.height, start?.height ?? 0, stop?.height ?? 0, step?.height ?? 0)
        case .call(let e, let args): return max(e.height, tallest(args))
        case .filter(let e, _, let args): return max(e.height, tallest(args))
        case .test(let e, _, let args, _): return max(e.height, tallest(args))
        case .unary(_, let e): return e.height
        case .binary(_, let a, let b), .logical(_, let a, let b): return max(a.height, b.height)
        case .compare(let first, let rest): return max(first.height, rest.map(\.1.height).max() ?? 0)
        case .conditional(let c, let t, let o): return max(c.height, t.height, o?.height ?? 0)
        }
    }
}

/// A filter application used by `{% filter %}` and filtered block `{% set %}`.
struct FilterCall: Sendable {
    let name: String
    let args: ArgList
    let pos: Position
}

/// Target of `{% set %}`/for-loop assignment.
enum AssignTarget: Sendable {
    case name(String)
    case tuple([AssignTarget])
    /// `ns.attr`, only valid on namespace objects.
    case attribute(String, String)
}

/// Definition of a `{% macro %}` (also used for the anonymous `caller` of `{% call %}`).
struct MacroDef: Sendable {
    let name: String
    let params: [(String, Expr?)]
    let body: [Node]
}

/// Statement nodes of the template body.
indirect enum Node: Sendable {
    case text(String)
    case output(Expr)
    case ifBlock(branches: [(Expr, [Node])], otherwise: [Node])
    case forLoop(ForLoop)
    case set(AssignTarget, Expr, Position)
    case setBlock(AssignTarget, filters: [FilterCall], body: [Node], Position)
    case macro(MacroDef)
    /// `{% call(params) callee(args) %}body{% endcall %}`.
    case callBlock(caller: MacroDef, call: Expr)
    case filterBlock([FilterCall], [Node])
    /// Body of `{% generation %}`, rendered unchanged.
    case sequence([Node])
    case breakLoop(Position)
    case continueLoop(Position)
}

struct ForLoop: Sendable {
    let target: AssignTarget
    let iterable: Expr
    let condition: Expr?
    let body: [Node]
    let otherwise: [Node]
    let recursive: Bool
    let pos: Position
}
