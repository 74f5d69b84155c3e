/// Translates the regular expression of a JSON Schema `pattern` into a GBNF
/// expression for the *contents* of a JSON string (between the quotes).
///
/// Supported: literals and escapes (`\d \w \s \D \W \S \n \t \r \f \v \xHH
/// \uHHHH`, escaped punctuation), character classes with ranges/negation,
/// `.`, groups `( … )` `(?: … )` `(?<name> … )`, alternation, quantifiers
/// `* + ? {m} {m,} {m,n}` (lazy `?` suffix accepted), and `^`/`$` anchors at
/// the start/end of each top-level alternative. As in JSON Schema, a pattern is
/// a search: an unanchored side may be surrounded by arbitrary characters.
/// Lookaround, backreferences and word boundaries throw `invalidPattern`.
///
/// Characters JSON must escape (`"`, `\`, control characters) are emitted in
/// their escaped form so the generated string stays valid JSON.
enum RegexToGrammar {
    /// Upper bound on the height of the parsed pattern: each alternation,
    /// sequence and quantifier (`a**` counts twice) is a level. Parsing and
    /// emitting recurse per level, and every level becomes at most one GBNF
    /// group, so this keeps the output within `GBNFParser.maxNestingDepth`.
    static let maxNestingDepth = 128

    indirect enum Node {
        case empty
        case char(UInt32)
        case cls([ClosedRange<UInt32>], negated: Bool)
        case any
        case seq([Node])
        case alt([Node])
        case rep(Node, Int, Int?)
        case startAnchor
        case endAnchor
    }

    /// Whether `n` can match the empty string. Recurses at most `maxNestingDepth` levels.
    static func matchesEmpty(_ n: Node) -> Bool {
        switch n {
        case .empty, .startAnchor, .endAnchor: return true
        case .char, .cls, .any: return false
        case .seq(let items): return items.allSatisfy(matchesEmpty)
        case .alt(let branches): return branches.contains(where: matchesEmpty)
        case .rep(let inner, let lo, _): return lo == 0 || matchesEmpty(inner)
        }
    }

    /// - Parameter charRule: name of the GBNF rule for one JSON string character
    ///   (used for `.` and for unanchored padding).
    static func translate(_ pattern: String, charRule: String) throws(SchemaConversionError) -> String {
        var p = RegexParser(pattern: pattern)
        let tree = try p.parseAlternation().node
        if p.pos < p.scalars.count {
            throw .invalidPattern(pattern, "unbalanced ')' at offset \(p.pos)")
        }
        let branches: [Node]
        if case .alt(let bs) = tree { branches = bs } else { branches = [tree] }
        var out: [String] = []
        for b in branches {
            var items: [Node]
            if case .seq(let s) = b { items = s } else { items = [b] }
            var anchoredStart = false, anchoredEnd = false
            if case .startAnchor = items.first { anchoredStart = true; items.removeFirst() }
            if case .endAnchor = items.last { anchoredEnd = true; items.removeLast() }
            var parts: [String] = []
            if !anchoredStart { parts.append("\(charRule)*") }
            for n in items { parts.append(try emit(n, charRule: charRule, pattern: pattern)) }
            if !anchoredEnd { parts.append("\(charRule)*") }
            let joined = parts.filter { !$0.isEmpty }.joined(separator: " ")
            out.append(joined.isEmpty ? "\"\"" : joined)
        }
        return out.count == 1 ? out[0] : "(" + out.joined(separator: " | ") + ")"
    }

    static func emit(_ n: Node, charRule: String, pattern: String) throws(SchemaConversionError) -> String {
        switch n {
        case .empty: return ""
        case .char(let c): return jsonCharLiteral(c) ?? "\"\""
        case .any: return charRule
        case .cls(let ranges, let negated): return classExpression(ranges, negated: negated)
        case .seq(let items):
            var parts: [String] = []
            for i in items { parts.append(try emit(i, charRule: charRule, pattern: pattern)) }
            let s = parts.filter { !$0.isEmpty }.joined(separator: " ")
            return s.isEmpty ? "" : "(" + s + ")"
        case .alt(let branches):
            var parts: [String] = []
            for b in branches {
                let e = try emit(b, charRule: charRule, pattern: pattern)
                parts.append(e.isEmpty ? "\"\"" : e)
            }
            return "(" + parts.joined(separator: " | ") + ")"
        case .rep(let inner, let lo, let hi):
            let e = try emit(inner, charRule: charRule, pattern: pattern)
            if e.isEmpty { return "" }
            if lo > GBNFParser.maxRepetition || (hi ?? 0) > GBNFParser.maxRepetition {
                throw .invalidPattern(pattern, "repetition count above \(GBNFParser.maxRepetition)")
            }
            let q: String
            switch (lo, hi) {
            case (0, nil): q = "*"
            case (1, nil): q = "+"
            case (0, 1): q = "?"
            case (let m, nil): q = "{\(m),}"
            case (let m, let x?) where m == x: q = "{\(m)}"
            case (let m, let x?): q = "{\(m),\(x)}"
            }
            return "(" + e + ")" + q
        case .startAnchor, .endAnchor:
            throw .invalidPattern(pattern, "'^' and '$' are only supported at the start and end of the pattern")
        }
    }

    /// GBNF literal for one character as it must appear inside a JSON string;
    /// nil for control characters without a short escape (they cannot appear).
    static func jsonCharLiteral(_ c: UInt32) -> String? {
        switch c {
        case 0x22: return #""\\\"""#
        case 0x5C: return #""\\\\""#
        case 0x0A: return #""\\n""#
        case 0x0D: return #""\\r""#
        case 0x09: return #""\\t""#
        case 0x0C: return #""\\f""#
        case 0x08: return #""\\b""#
        default:
            if c < 0x20 || c == 0x7F { return nil }
            return "\"" + gbnfEscape(c) + "\""
        }
    }

    /// Escapes one code point for use inside a GBNF literal or class.
    static func gbnfEscape(_ c: UInt32) -> String {
        switch c {
        case 0x22: return "\\\""
        case 0x5C: return "\\\\"
        case 0x5D: return "\\]"
        case 0x5B: return "\\["
        case 0x2D: return "\\-"
        case 0x5E: return "\\^"
        default:
            if c < 0x20 || c == 0x7F || c > 0xFFFF || (c >= 0xD800 && c < 0xE000) {
                return "\\U" + String(c, radix: 16).leftPadded(8)
            }
            if c >= 0x80 { return "\\u" + String(c, radix: 16).leftPadded(4) }
            return String(Character(Unicode.Scalar(c)!))
        }
    }

    /// Characters that must be escaped inside JSON strings.
    static let jsonForbidden: [ClosedRange<UInt32>] = [0x00...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F]

    /// A class restricted to characters that may appear raw in a JSON string,
    /// plus alternatives for the escaped forms of `"`, `\` and common controls.
    static func classExpression(_ ranges: [ClosedRange<UInt32>], negated: Bool) -> String {
        let cc = CharClass(ranges: ranges, negated: negated)
        var alts: [String] = []
        if negated {
            let all = ranges + jsonForbidden
            alts.append("[^" + all.map(rangeText).joined() + "]")
        } else {
            // Subtract the forbidden ranges.
            var pieces: [ClosedRange<UInt32>] = []
            for r in cc.ranges {
                var lo = r.lowerBound
                for f in jsonForbidden where f.upperBound >= lo && f.lowerBound <= r.upperBound {
                    if f.lowerBound > lo { pieces.append(lo...(f.lowerBound - 1)) }
                    lo = f.upperBound + 1
                }
                if lo <= r.upperBound { pieces.append(lo...r.upperBound) }
            }
            if !pieces.isEmpty { alts.append("[" + pieces.map(rangeText).joined() + "]") }
        }
        for c: UInt32 in [0x22, 0x5C, 0x0A, 0x0D, 0x09] where cc.contains(c) {
            if let lit = jsonCharLiteral(c) { alts.append(lit) }
        }
        if alts.isEmpty { return "[^\\U00000000-\\U0010FFFF]" } // matches nothing
        return alts.count == 1 ? alts[0] : "(" + alts.joined(separator: " | ") + ")"
    }

    static func rangeText(_ r: ClosedRange<UInt32>) -> String {
        r.lowerBound == r.upperBound ? gbnfEscape(r.lowerBound) : gbnfEscape(r.lowerBound) + "-" + gbnfEscape(r.upperBound)
    }
}

private struct RegexParser {
    let pattern: String
    let scalars: [UInt32]
    var pos = 0

    init(pattern: String) {
        self.pattern = pattern
        scalars = pattern.unicodeScalars.map(\.value)
    }

    func fail(_ m: String) -> SchemaConversionError { .invalidPattern(pattern, m) }
    func tooDeep() -> SchemaConversionError {
        fail("groups and quantifiers are nested too deeply (more than \(RegexToGrammar.maxNestingDepth) levels)")
    }
    /// Groups open around the current position (each is a level of recursion).
    var groupDepth = 0
    func peek(_ k: Int = 0) -> UInt32? { pos + k < scalars.count ? scalars[pos + k] : nil }

    /// A parsed piece and its height (levels of alternation, sequence and
    /// repetition), checked against `RegexToGrammar.maxNestingDepth`.
    typealias Parsed = (node: RegexToGrammar.Node, height: Int)

    func checked(_ p: Parsed) throws(SchemaConversionError) -> Parsed {
        if p.height > RegexToGrammar.maxNestingDepth { throw tooDeep() }
        return p
    }

    mutating func parseAlternation() throws(SchemaConversionError) -> Parsed {
        let first = try parseSequence()
        var branches = [first.node]
        var height = first.height
        while peek() == 0x7C {
            pos += 1
            let next = try parseSequence()
            branches.append(next.node)
            height = max(height, next.height)
        }
        return branches.count == 1 ? first : try checked((.alt(branches), height + 1))
    }

    mutating func parseSequence() throws(SchemaConversionError) -> Parsed {
        var items: [RegexToGrammar.Node] = []
        var height = 0
        while let c = peek(), c != 0x7C, c != 0x29 {
            var (atom, atomHeight) = try parseAtom()
            // Quantifiers
            while let q = peek() {
                var lo = 0, hi: Int? = nil
                if q == 0x2A { pos += 1 } else if q == 0x2B { pos += 1; lo = 1 } else if q == 0x3F { pos += 1; hi = 1 } else if q == 0x7B, let (m, x, len) = braceQuantifier() {
                    pos += len; lo = m; hi = x
                } else { break }
                if case .startAnchor = atom { throw fail("quantifier after an anchor") }
                if case .endAnchor = atom { throw fail("quantifier after an anchor") }
                if peek() == 0x3F { pos += 1 }   // lazy: same language
                if peek() == 0x2B { throw fail("possessive quantifiers are not supported") }
                if case .empty = atom { continue }
                if hi == nil && RegexToGrammar.matchesEmpty(atom) {
                    // `(x?)*` would become a GBNF repetition of something that can match
                    // nothing, which the grammar rejects as left recursion. Its language is
                    // `x*` when the inner part is a repetition of a non-empty `x`.
                    guard case .rep(let x, _, _) = atom, !RegexToGrammar.matchesEmpty(x) else {
                        throw fail("an unbounded repetition of a group that can match the empty string is not supported")
                    }
                    atom = .rep(x, 0, nil)
                    continue
                }
                (atom, atomHeight) = try checked((.rep(atom, lo, hi), atomHeight + 1))
            }
            items.append(atom)
            height = max(height, atomHeight)
        }
        if items.count == 1 { return (items[0], height) }
        return items.isEmpty ? (.empty, 0) : try checked((.seq(items), height + 1))
    }

    /// `{m}`, `{m,}`, `{m,n}` at pos; nil when the brace is a literal.
    func braceQuantifier() -> (Int, Int?, Int)? {
        var i = pos + 1
        func num(_ i: inout Int) -> Int? {
            var v = 0, n = 0
            while i < scalars.count, scalars[i] >= 0x30, scalars[i] <= 0x39, n < 9 { v = v * 10 + Int(scalars[i] - 0x30); i += 1; n += 1 }
            return n > 0 ? v : nil
        }
        guard let m = num(&i) else { return nil }
        var x: Int? = m
        if i < scalars.count, scalars[i] == 0x2C {
            i += 1
            x = num(&i)
        }
        guard i < scalars.count, scalars[i] == 0x7D else { return nil }
        if let x, x < m { return nil }
        return (m, x, i + 1 - pos)
    }

    mutating func parseAtom() throws(SchemaConversionError) -> Parsed {
        let c = scalars[pos]
        pos += 1
        switch c {
        case 0x28: // (
            if peek() == 0x3F { // (?
                if peek(1) == 0x3A { pos += 2 } else if peek(1) == 0x3C, let n = peek(2), n != 0x3D && n != 0x21 {
                    pos += 2
                    while let ch = peek(), ch != 0x3E { pos += 1 }
                    guard peek() == 0x3E else { throw fail("unterminated group name") }
                    pos += 1
                } else if peek(1) == 0x50, peek(2) == 0x3C { // (?P<name>
                    pos += 3
                    while let ch = peek(), ch != 0x3E { pos += 1 }
                    guard peek() == 0x3E else { throw fail("unterminated group name") }
                    pos += 1
                } else {
                    throw fail("lookaround and inline flags are not supported")
                }
            }
            // A group adds no level of its own (its contents do), so the
            // recursion of `((((a))))` is bounded separately.
            groupDepth += 1
            if groupDepth > RegexToGrammar.maxNestingDepth { throw tooDeep() }
            let inner = try parseAlternation()
            groupDepth -= 1
            guard peek() == 0x29 else { throw fail("missing ')'") }
            pos += 1
            return inner
        case 0x5B: return (try parseClass(), 0)
        case 0x2E: return (.any, 0)
        case 0x5E: return (.startAnchor, 0)
        case 0x24: return (.endAnchor, 0)
        case 0x2A, 0x2B, 0x3F: throw fail("nothing to repeat at offset \(pos - 1)")
        case 0x5C: return (try parseEscape(inClass: false).node, 0)
        default: return (.char(c), 0)
        }
    }

    struct Escape { var node: RegexToGrammar.Node; var ranges: [ClosedRange<UInt32>]?; var single: UInt32? }

    mutating func parseEscape(inClass: Bool) throws(SchemaConversionError) -> Escape {
        guard let e = peek() else { throw fail("trailing backslash") }
        pos += 1
        let digit: [ClosedRange<UInt32>] = [0x30...0x39]
        let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        let space: [ClosedRange<UInt32>] = [0x09...0x0D, 0x20...0x20]
        func single(_ v: UInt32) -> Escape { Escape(node: .char(v), ranges: [v...v], single: v) }
        switch e {
        case 0x64: return Escape(node: .cls(digit, negated: false), ranges: digit)
        case 0x77: return Escape(node: .cls(word, negated: false), ranges: word)
        case 0x73: return Escape(node: .cls(space, negated: false), ranges: space)
        case 0x44, 0x57, 0x53:
            if inClass { throw fail("negated shorthand classes inside [...] are not supported") }
            let r = e == 0x44 ? digit : (e == 0x57 ? word : space)
            return Escape(node: .cls(r, negated: true), ranges: nil)
        case 0x6E: return single(0x0A)
        case 0x74: return single(0x09)
        case 0x72: return single(0x0D)
        case 0x66: return single(0x0C)
        case 0x76: return single(0x0B)
        case 0x30: return single(0)
        case 0x78, 0x75:
            let n = e == 0x78 ? 2 : 4
            var v: UInt32 = 0
            for _ in 0..<n {
                guard let h = peek(), let d = hexDigit(h) else { throw fail("invalid hex escape") }
                v = v << 4 | d
                pos += 1
            }
            return single(v)
        case 0x62 where inClass: return single(0x08)
        case 0x62, 0x42: throw fail("word boundaries are not supported")
        case 0x31...0x39: throw fail("backreferences are not supported")
        case 0x41, 0x5A, 0x7A, 0x47: throw fail("anchors \\\(Character(Unicode.Scalar(e)!)) are not supported")
        default:
            if (e >= 0x61 && e <= 0x7A) || (e >= 0x41 && e <= 0x5A) {
                throw fail("unknown escape \\\(Character(Unicode.Scalar(e)!))")
            }
            return single(e)
        }
    }

    func hexDigit(_ h: UInt32) -> UInt32? {
        switch h {
        case 0x30...0x39: return h - 0x30
        case 0x61...0x66: return h - 0x61 + 10
        case 0x41...0x46: return h - 0x41 + 10
        default: return nil
        }
    }

    mutating func parseClass() throws(SchemaConversionError) -> RegexToGrammar.Node {
        var negated = false
        if peek() == 0x5E { negated = true; pos += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let c = peek() else { throw fail("unterminated character class") }
            if c == 0x5D && !first { pos += 1; break }
            first = false
            var lo: UInt32
            pos += 1
            if c == 0x5C {
                let esc = try parseEscape(inClass: true)
                guard let s = esc.single else { ranges += esc.ranges ?? []; continue }
                lo = s
            } else {
                lo = c
            }
            if peek() == 0x2D, let n = peek(1), n != 0x5D {
                pos += 1
                var hi = scalars[pos]
                pos += 1
                if hi == 0x5C {
                    let esc = try parseEscape(inClass: true)
                    guard let s = esc.single else { throw fail("invalid class range") }
                    hi = s
                }
                if hi < lo { throw fail("invalid class range") }
                ranges.append(lo...hi)
            } else {
                ranges.append(lo...lo)
            }
        }
        return .cls(ranges, negated: negated)
    }
}
