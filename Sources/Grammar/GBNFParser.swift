/// Parser for GBNF, the grammar format of llama.cpp.
///
/// Supported: `name ::= alternatives` rules, `|` alternation, `( … )` groups,
/// `*` `+` `?` `{m}` `{m,}` `{m,n}` repetition (applied to the preceding
/// symbol; a string literal counts as one symbol), string literals and
/// character classes with escapes (`\n \r \t \\ \" \[ \] \- \^ \xHH \uHHHH
/// \UHHHHHHHH`), ranges and negation, `.` for any character and `#` comments.
///
/// A rule body may span several lines; it ends where the next `name ::=`
/// begins (a superset of llama.cpp, which needs parentheses for that).
/// Groups and repetitions are expanded into helper rules named `rule-N`.
public enum GBNFParser {
    /// Upper bound on `{m,n}` counts; larger bounds expand into too many rules.
    public static let maxRepetition = 10_000
    /// Upper bound on `( … )` nesting. Groups are parsed by recursion, and a
    /// request handler's thread may have as little as 512 KiB of stack; real
    /// grammars (including the schema converter's output) nest a few levels.
    public static let maxNestingDepth = 256
    /// Upper bound on the symbols that repetitions of one grammar expand into
    /// (`x{0,10000}` alone is 10,000 helper rules); keeps a short grammar text
    /// from allocating an unbounded number of rules.
    ///
    /// Nested repetitions multiply: `(x{0,m}){0,n}` counts as n × m symbols, as
    /// if written out in full. Its helper rules are only m + n, but the matcher's
    /// stacks are as many as the ways a prefix can be split among the loops, so
    /// `(("a"{0,1000}){0,1000}){0,1000}` would stall every mask on ~10⁹ stacks.
    /// Only groups written inline are multiplied; a repetition of a rule
    /// reference counts the reference as one symbol (the matcher's work budget,
    /// `GrammarMatcher.maxWorkPerStep`, covers what gets past this).
    public static let maxExpandedSymbols = 300_000

    /// Parses GBNF text into a validated `Grammar`.
    /// - Throws: `GrammarError` with line/column for syntax errors and
    ///   undefined rules; missing `root` and left recursion are reported too.
    public static func parse(_ text: String, root: String = "root") throws(GrammarError) -> Grammar {
        var p = Parser(bytes: Array(text.utf8))
        try p.parseAll()
        for (i, def) in p.defined.enumerated() where !def {
            let off = p.firstUse[i] ?? 0
            let (l, c) = p.lineColumn(off)
            throw GrammarError(kind: .undefinedRule(p.names[i]), line: l, column: c,
                               message: "undefined rule '\(p.names[i])'")
        }
        guard let rootIdx = p.index[root] else {
            throw GrammarError(kind: .missingRoot, line: 0, column: 0, message: "grammar does not define a '\(root)' rule")
        }
        return try Grammar(ruleNames: p.names, rules: p.rules.map { $0 ?? [] }, rootIndex: rootIdx)
    }

}

private struct Parser {
    let bytes: [UInt8]
    var pos = 0
    var names: [String] = []
    var index: [String: Int] = [:]
    var rules: [[[GrammarElement]]?] = []
    var defined: [Bool] = []
    var firstUse: [Int: Int] = [:]
    var helperCounter: [String: Int] = [:]
    /// Open `(` groups around the current position.
    var nesting = 0
    /// Symbols produced by repetition expansion so far.
    var expandedSymbols = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    // MARK: errors

    func lineColumn(_ offset: Int) -> (Int, Int) {
        var line = 1, col = 1
        var i = 0
        while i < offset && i < bytes.count {
            if bytes[i] == 0x0A { line += 1; col = 1 } else if bytes[i] & 0xC0 != 0x80 { col += 1 }
            i += 1
        }
        return (line, col)
    }

    func fail(_ message: String, at offset: Int? = nil, kind: GrammarError.Kind = .syntax) -> GrammarError {
        let (l, c) = lineColumn(offset ?? pos)
        return GrammarError(kind: kind, line: l, column: c, message: message)
    }

    func describeCurrent() -> String {
        guard pos < bytes.count else { return "end of input" }
        let b = bytes[pos]
        if b == 0x0A { return "end of line" }
        var end = pos + 1
        while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "'" + String(decoding: bytes[pos..<end], as: UTF8.self) + "'"
    }

    // MARK: lexing helpers

    var atEnd: Bool { pos >= bytes.count }
    func peek(_ k: Int = 0) -> UInt8? { pos + k < bytes.count ? bytes[pos + k] : nil }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
    }

    /// Skips spaces, tabs, newlines and `#` comments.
    mutating func skipSpace() {
        while pos < bytes.count {
            let b = bytes[pos]
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
                pos += 1
            } else if b == 0x23 {
                while pos < bytes.count && bytes[pos] != 0x0A { pos += 1 }
            } else {
                break
            }
        }
    }

    /// A name followed by ':' or '=' at top level is treated as the start of
    /// the next (possibly malformed) definition, so `foo = "x"` reports a
    /// missing `::=` rather than an odd character inside the previous rule.
    func looksLikeRuleStart() -> Bool {
        var i = pos
        while i < bytes.count && Parser.isNameByte(bytes[i]) { i += 1 }
        if i == pos { return false }
        while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
        return i < bytes.count && (bytes[i] == 0x3A || bytes[i] == 0x3D)
    }

    mutating func parseName() -> String? {
        let start = pos
        while pos < bytes.count && Parser.isNameByte(bytes[pos]) { pos += 1 }
        return pos > start ? String(decoding: bytes[start..<pos], as: UTF8.self) : nil
    }

    mutating func ruleIndex(_ name: String, useAt: Int?) -> Int {
        if let i = index[name] {
            if let u = useAt, firstUse[i] == nil { firstUse[i] = u }
            return i
        }
        let i = names.count
        names.append(name)
        index[name] = i
        rules.append(nil)
        defined.append(false)
        if let u = useAt { firstUse[i] = u }
        return i
    }

    mutating func addHelper(_ parent: String, _ alts: [[GrammarElement]]) -> Int {
        var n = helperCounter[parent, default: 0]
        var name: String
        repeat { n += 1; name = "\(parent)-\(n)" } while index[name] != nil
        helperCounter[parent] = n
        let i = ruleIndex(name, useAt: nil)
        rules[i] = alts
        defined[i] = true
        return i
    }

    // MARK: grammar

    mutating func parseAll() throws(GrammarError) {
        skipSpace()
        if atEnd { throw fail("empty grammar: expected a rule definition", kind: .missingRoot) }
        while !atEnd {
            let nameStart = pos
            guard let name = parseName() else {
                throw fail("expected rule name, found \(describeCurrent())")
            }
            while let b = peek(), b == 0x20 || b == 0x09 { pos += 1 }
            guard peek() == 0x3A, peek(1) == 0x3A, peek(2) == 0x3D else {
                throw fail("expected '::=' after rule name '\(name)', found \(describeCurrent())")
            }
            pos += 3
            let idx = ruleIndex(name, useAt: nil)
            if defined[idx] {
                throw fail("rule '\(name)' is defined more than once", at: nameStart, kind: .duplicateRule(name))
            }
            defined[idx] = true
            let (alts, _) = try parseAlternates(rule: name, nested: false)
            rules[idx] = alts
            skipSpace()
            if !atEnd && !looksLikeRuleStart() {
                throw fail("expected a new rule ('name ::= ...') or end of input, found \(describeCurrent())")
            }
        }
    }

    /// The alternatives, and their unrolled size: the symbols they stand for
    /// once every repetition inside them is written out (see `maxExpandedSymbols`).
    mutating func parseAlternates(rule: String, nested: Bool) throws(GrammarError) -> (alts: [[GrammarElement]], unrolled: Int) {
        var (first, unrolled) = try parseSequence(rule: rule, nested: nested)
        var alts: [[GrammarElement]] = [first]
        while peek() == 0x7C { // '|'
            pos += 1
            let (seq, size) = try parseSequence(rule: rule, nested: nested)
            alts.append(seq)
            unrolled += size
        }
        return (alts, unrolled)
    }

    mutating func parseSequence(rule: String, nested: Bool) throws(GrammarError) -> (seq: [GrammarElement], unrolled: Int) {
        var seq: [GrammarElement] = []
        // Parallel to `seq`: how many symbols each element stands for when its
        // repetitions are unrolled (1 for a character or rule reference).
        var unrolled: [Int] = []
        var lastSymbolStart: Int? = nil
        while true {
            skipSpace()
            guard let b = peek() else { break }
            if !nested && looksLikeRuleStart() { break }
            switch b {
            case 0x22: // '"'
                lastSymbolStart = seq.count
                try parseLiteral(into: &seq)
                unrolled.append(contentsOf: repeatElement(1, count: seq.count - unrolled.count))
            case 0x5B: // '['
                lastSymbolStart = seq.count
                seq.append(.chars(try parseClass()))
                unrolled.append(1)
            case 0x2E: // '.'
                pos += 1
                lastSymbolStart = seq.count
                seq.append(.chars(.any))
                unrolled.append(1)
            case 0x28: // '('
                let open = pos
                if nesting >= GBNFParser.maxNestingDepth {
                    throw fail("groups are nested too deeply (more than \(GBNFParser.maxNestingDepth) levels)", kind: .nestingTooDeep)
                }
                pos += 1
                nesting += 1
                let (alts, size) = try parseAlternates(rule: rule, nested: true)
                nesting -= 1
                guard peek() == 0x29 else {
                    if atEnd { throw fail("expected ')' to close the group opened at \(lineColumnText(open)), found end of input") }
                    throw fail("expected ')' or '|', found \(describeCurrent())")
                }
                pos += 1
                lastSymbolStart = seq.count
                seq.append(.rule(addHelper(rule, alts)))
                unrolled.append(size)
            case 0x7C, 0x29: // '|' ')'
                if b == 0x29 && !nested { throw fail("unexpected ')' without a matching '('") }
                return (seq, unrolled.reduce(0, +))
            case 0x2A, 0x2B, 0x3F, 0x7B: // * + ? {
                guard let start = lastSymbolStart else {
                    throw fail("expected an element before \(describeCurrent())")
                }
                let repetitionAt = pos
                let (minCount, maxCount) = try parseRepetition()
                let item = Array(seq[start...])
                seq.removeSubrange(start...)
                let body = unrolled[start...].reduce(0, +)
                unrolled.removeSubrange(start...)
                // Unrolled, `body{m,n}` is n copies of the body where one was written:
                // n - 1 more copies of everything inside it, nested repetitions included.
                let count = Swift.max(minCount, maxCount ?? 1, 1)
                let (extra, overflow) = (count - 1).multipliedReportingOverflow(by: body)
                expandedSymbols += overflow ? GBNFParser.maxExpandedSymbols + 1 : extra + 2
                if overflow || expandedSymbols > GBNFParser.maxExpandedSymbols {
                    let why = count > 1 && body > 1
                        ? " (nested repetitions multiply: this one repeats \(count) times a body of \(body) symbols)" : ""
                    throw fail("repetitions expand into more than \(GBNFParser.maxExpandedSymbols) symbols" + why,
                               at: repetitionAt, kind: .repetitionTooLarge)
                }
                let expansion = expandRepetition(rule: rule, item: item, min: minCount, max: maxCount)
                seq.append(contentsOf: expansion)
                // One entry per element: the whole repetition's size on the first.
                unrolled.append(contentsOf: expansion.indices.map { $0 == 0 ? count * body : 0 })
                lastSymbolStart = nil
            default:
                if Parser.isNameByte(b) {
                    let at = pos
                    let name = parseName()!
                    lastSymbolStart = seq.count
                    seq.append(.rule(ruleIndex(name, useAt: at)))
                    unrolled.append(1)
                } else {
                    throw fail("unexpected \(describeCurrent()); expected a string, character class, rule name, '(' or '.'")
                }
            }
        }
        return (seq, unrolled.reduce(0, +))
    }

    func lineColumnText(_ off: Int) -> String {
        let (l, c) = lineColumn(off)
        return "line \(l), column \(c)"
    }

    /// Parses `*`, `+`, `?` or `{m}`, `{m,}`, `{m,n}`; returns (min, max) with
    /// `max == nil` meaning unbounded.
    mutating func parseRepetition() throws(GrammarError) -> (Int, Int?) {
        let b = bytes[pos]
        pos += 1
        switch b {
        case 0x2A: return (0, nil)
        case 0x2B: return (1, nil)
        case 0x3F: return (0, 1)
        default: break
        }
        let open = pos - 1
        skipInline()
        guard let m = try parseInt() else { throw fail("expected a number after '{', found \(describeCurrent())") }
        skipInline()
        var maxCount: Int? = m
        if peek() == 0x2C { // ','
            pos += 1
            skipInline()
            maxCount = try parseInt()
            skipInline()
        }
        guard peek() == 0x7D else { throw fail("expected '}' to close the repetition, found \(describeCurrent())") }
        pos += 1
        if let mx = maxCount, mx < m {
            throw fail("repetition maximum \(mx) is less than minimum \(m)", at: open)
        }
        if m > GBNFParser.maxRepetition || (maxCount ?? 0) > GBNFParser.maxRepetition {
            throw fail("repetition count exceeds \(GBNFParser.maxRepetition)", at: open, kind: .repetitionTooLarge)
        }
        return (m, maxCount)
    }

    mutating func skipInline() {
        while let b = peek(), b == 0x20 || b == 0x09 { pos += 1 }
    }

    mutating func parseInt() throws(GrammarError) -> Int? {
        let start = pos
        var v = 0
        while let b = peek(), b >= 0x30 && b <= 0x39 {
            v = v * 10 + Int(b - 0x30)
            if v > 1_000_000_000 { throw fail("repetition count exceeds \(GBNFParser.maxRepetition)", at: start, kind: .repetitionTooLarge) }
            pos += 1
        }
        return pos > start ? v : nil
    }

    /// `x{m,n}` becomes m copies of x followed by a chain of nested optional
    /// helpers (`opt_k ::= x opt_{k-1} |`), which keeps the number of parser
    /// stacks linear in n instead of exploding on ambiguity.
    mutating func expandRepetition(rule: String, item: [GrammarElement], min: Int, max: Int?) -> [GrammarElement] {
        var unit = item
        if unit.count > 1 { unit = [.rule(addHelper(rule, [item]))] }
        if unit.isEmpty { return [] }
        var out: [GrammarElement] = []
        for _ in 0..<min { out.append(contentsOf: unit) }
        if let max {
            if max > min {
                var tail: Int? = nil
                for _ in 0..<(max - min) {
                    let alt: [GrammarElement] = tail.map { unit + [.rule($0)] } ?? unit
                    tail = addHelper(rule, [alt, []])
                }
                out.append(.rule(tail!))
            }
        } else {
            // star ::= unit star | ε  (right recursion: the matcher drops the
            // finished frame, so long repetitions do not grow the stack)
            let star = addHelper(rule, [])
            rules[star] = [unit + [.rule(star)], []]
            out.append(.rule(star))
        }
        return out
    }

    mutating func parseLiteral(into seq: inout [GrammarElement]) throws(GrammarError) {
        let open = pos
        pos += 1
        while true {
            guard let b = peek() else {
                throw fail("unterminated string literal (expected '\"')", at: open)
            }
            if b == 0x22 { pos += 1; return }
            if b == 0x0A { throw fail("unterminated string literal: expected '\"' before end of line", at: open) }
            seq.append(.chars(.single(try parseChar())))
        }
    }

    mutating func parseClass() throws(GrammarError) -> CharClass {
        let open = pos
        pos += 1
        var negated = false
        if peek() == 0x5E { negated = true; pos += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        while true {
            guard let b = peek() else { throw fail("unterminated character class (expected ']')", at: open) }
            if b == 0x5D { pos += 1; break }
            if b == 0x0A { throw fail("unterminated character class: expected ']' before end of line", at: open) }
            let lo = try parseChar()
            if peek() == 0x2D, let nb = peek(1), nb != 0x5D {
                let dashAt = pos
                pos += 1
                let hi = try parseChar()
                if hi < lo { throw fail("invalid range in character class: end is before start", at: dashAt) }
                ranges.append(lo...hi)
            } else {
                ranges.append(lo...lo)
            }
        }
        return CharClass(ranges: ranges, negated: negated)
    }

    /// One (possibly escaped) character of a literal or class, as a code point.
    mutating func parseChar() throws(GrammarError) -> UInt32 {
        let b = bytes[pos]
        if b == 0x5C { // backslash
            let escAt = pos
            pos += 1
            guard let e = peek() else { throw fail("expected an escape character after '\\', found end of input") }
            pos += 1
            switch e {
            case 0x6E: return 0x0A
            case 0x72: return 0x0D
            case 0x74: return 0x09
            case 0x30: return 0
            case 0x5C, 0x22, 0x27, 0x5B, 0x5D, 0x2D, 0x5E, 0x2F: return UInt32(e)
            case 0x78: return try parseHex(2, escAt)
            case 0x75: return try parseHex(4, escAt)
            case 0x55: return try parseHex(8, escAt)
            default:
                pos -= 1
                throw fail("unknown escape sequence '\\\(describeCurrent().dropFirst().dropLast())'", at: escAt)
            }
        }
        // Decode one UTF-8 scalar.
        let len: Int
        var v: UInt32
        switch b {
        case 0x00..<0x80: len = 1; v = UInt32(b)
        case 0xC0..<0xE0: len = 2; v = UInt32(b & 0x1F)
        case 0xE0..<0xF0: len = 3; v = UInt32(b & 0x0F)
        case 0xF0..<0xF8: len = 4; v = UInt32(b & 0x07)
        default: throw fail("invalid UTF-8 in grammar")
        }
        guard pos + len <= bytes.count else { throw fail("invalid UTF-8 in grammar") }
        for k in 1..<len { v = (v << 6) | UInt32(bytes[pos + k] & 0x3F) }
        pos += len
        return v
    }

    mutating func parseHex(_ n: Int, _ escAt: Int) throws(GrammarError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<n {
            guard let b = peek(), let d = hexValue(b) else {
                throw fail("expected \(n) hex digits in escape, found \(describeCurrent())")
            }
            v = v << 4 | d
            pos += 1
        }
        if v > 0x10FFFF { throw fail("escape \\U\(String(v, radix: 16)) is beyond the Unicode range", at: escAt) }
        return v
    }

    func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        default: return nil
        }
    }
}
