/// A set of Unicode scalar values, as written in GBNF `[a-z]`, `[^"]`, `.` or a
/// single literal character.
///
/// Ranges are sorted and merged at construction so membership and overlap tests
/// stay cheap; ASCII membership is additionally precomputed into a 128-bit map
/// because almost every check the sampler performs is on ASCII.
public struct CharClass: Sendable, Hashable {
    /// Merged, sorted, non-overlapping ranges.
    public let ranges: [ClosedRange<UInt32>]
    /// When true the class matches every code point *not* in `ranges`.
    public let negated: Bool
    private let asciiLow: UInt64
    private let asciiHigh: UInt64

    public init(ranges: [ClosedRange<UInt32>], negated: Bool = false) {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in sorted {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        self.ranges = merged
        self.negated = negated
        var lo: UInt64 = 0, hi: UInt64 = 0
        for c in UInt32(0)..<128 {
            var inside = false
            for r in merged where r.contains(c) { inside = true; break }
            if inside != negated {
                if c < 64 { lo |= 1 << UInt64(c) } else { hi |= 1 << UInt64(c - 64) }
            }
        }
        asciiLow = lo
        asciiHigh = hi
    }

    /// A class matching exactly one code point.
    public static func single(_ c: UInt32) -> CharClass { CharClass(ranges: [c...c]) }
    /// `.`: any code point.
    public static let any = CharClass(ranges: [], negated: true)

    @inline(__always)
    public func contains(_ c: UInt32) -> Bool {
        if c < 64 { return asciiLow & (1 << UInt64(c)) != 0 }
        if c < 128 { return asciiHigh & (1 << UInt64(c - 64)) != 0 }
        var inside = false
        for r in ranges {
            if c < r.lowerBound { break }
            if c <= r.upperBound { inside = true; break }
        }
        return inside != negated
    }

    /// Whether every code point in `lo...hi` belongs to the class.
    public func covers(_ lo: UInt32, _ hi: UInt32) -> Bool {
        if negated {
            for r in ranges where r.lowerBound <= hi && lo <= r.upperBound { return false }
            return true
        }
        for r in ranges where r.lowerBound <= lo && hi <= r.upperBound { return true }
        return false
    }

    /// Whether some code point in `lo...hi` belongs to the class. Used to decide
    /// whether an incomplete UTF-8 sequence could still turn into an accepted
    /// character.
    public func intersects(_ lo: UInt32, _ hi: UInt32) -> Bool {
        if negated {
            // Not intersecting means the whole interval is covered by one merged range.
            for r in ranges where r.lowerBound <= lo && hi <= r.upperBound { return false }
            return true
        }
        for r in ranges where r.lowerBound <= hi && lo <= r.upperBound { return true }
        return false
    }
}

/// One symbol of a rule alternative: either a character class or a reference to
/// another rule (by index into `Grammar.rules`).
public enum GrammarElement: Sendable, Hashable {
    case chars(CharClass)
    case rule(Int)
}

/// A validated grammar: rules are alternatives of element sequences, all
/// repetitions and groups already expanded into helper rules.
///
/// Construction checks that every referenced rule exists and that no rule is
/// left-recursive (directly, indirectly, or through rules that can match the
/// empty string), so the matcher's expansion always terminates. It also
/// compiles the rules into a flat program (`code`) that the matcher walks by
/// integer position.
public struct Grammar: Sendable {
    /// Rule names, parallel to `rules`. Helper rules are named `parent-N`.
    public let ruleNames: [String]
    /// `rules[r]` is the list of alternatives of rule `r`; each alternative is a
    /// sequence of elements. An empty alternative matches the empty string.
    public let rules: [[[GrammarElement]]]
    /// Index of the start rule.
    public let rootIndex: Int

    // Flat program: >= 0 is a char-class index; `Grammar.opEnd` ends an
    // alternative; <= -2 refers to rule (-op - 2).
    static let opEnd: Int32 = -1
    let code: [Int32]
    let classes: [CharClass]
    /// Start positions of every alternative, grouped per rule via `ruleAltRange`.
    let altStarts: [Int32]
    let ruleAltRange: [Range<Int>]

    /// Parse GBNF text. Equivalent to `try GBNFParser.parse(text)`.
    public static func parse(_ text: String, root: String = "root") throws(GrammarError) -> Grammar {
        try GBNFParser.parse(text, root: root)
    }

    /// Builds a grammar from already-expanded rules.
    /// - Throws: `GrammarError` for a missing root, undefined references or left recursion.
    public init(ruleNames: [String], rules: [[[GrammarElement]]], rootIndex: Int) throws(GrammarError) {
        precondition(ruleNames.count == rules.count)
        guard rootIndex >= 0 && rootIndex < rules.count else {
            throw GrammarError(kind: .missingRoot, line: 0, column: 0, message: "grammar does not define a 'root' rule")
        }
        for alts in rules {
            for seq in alts {
                for case .rule(let r) in seq where r < 0 || r >= rules.count {
                    throw GrammarError(kind: .undefinedRule("#\(r)"), line: 0, column: 0, message: "reference to undefined rule #\(r)")
                }
            }
        }
        self.ruleNames = ruleNames
        self.rules = rules
        self.rootIndex = rootIndex
        try Grammar.checkLeftRecursion(ruleNames: ruleNames, rules: rules)

        var code: [Int32] = []
        var classes: [CharClass] = []
        var classIndex: [CharClass: Int32] = [:]
        var altStarts: [Int32] = []
        var ranges: [Range<Int>] = []
        for alts in rules {
            let first = altStarts.count
            for seq in alts {
                altStarts.append(Int32(code.count))
                for el in seq {
                    switch el {
                    case .chars(let cc):
                        if let i = classIndex[cc] {
                            code.append(i)
                        } else {
                            let i = Int32(classes.count)
                            classes.append(cc)
                            classIndex[cc] = i
                            code.append(i)
                        }
                    case .rule(let r):
                        code.append(-Int32(r) - 2)
                    }
                }
                code.append(Grammar.opEnd)
            }
            ranges.append(first..<altStarts.count)
        }
        self.code = code
        self.classes = classes
        self.altStarts = altStarts
        self.ruleAltRange = ranges
    }

    /// Rejects grammars where a rule can derive itself as the leftmost symbol
    /// without consuming input; such rules would make stack expansion loop.
    private static func checkLeftRecursion(ruleNames: [String], rules: [[[GrammarElement]]]) throws(GrammarError) {
        // Which rules can match the empty string (fixed point).
        var nullable = [Bool](repeating: false, count: rules.count)
        var changed = true
        while changed {
            changed = false
            for (r, alts) in rules.enumerated() where !nullable[r] {
                for seq in alts {
                    var allNull = true
                    for el in seq {
                        switch el {
                        case .chars: allNull = false
                        case .rule(let x): if !nullable[x] { allNull = false }
                        }
                        if !allNull { break }
                    }
                    if allNull { nullable[r] = true; changed = true; break }
                }
            }
        }
        // Edges r -> x when x can be the first thing r tries to match.
        var edges = [[Int]](repeating: [], count: rules.count)
        for (r, alts) in rules.enumerated() {
            for seq in alts {
                for el in seq {
                    guard case .rule(let x) = el else { break }
                    edges[r].append(x)
                    if !nullable[x] { break }
                }
            }
        }
        // Iterative DFS cycle detection (0 = new, 1 = on stack, 2 = done).
        var state = [UInt8](repeating: 0, count: rules.count)
        for start in 0..<rules.count where state[start] == 0 {
            var stack: [(Int, Int)] = [(start, 0)]
            state[start] = 1
            while let (node, next) = stack.last {
                if next < edges[node].count {
                    stack[stack.count - 1].1 += 1
                    let x = edges[node][next]
                    if state[x] == 1 {
                        let name = userFacingName(ruleNames[x])
                        throw GrammarError(kind: .leftRecursion(name), line: 0, column: 0,
                                           message: "left recursion in rule '\(name)' (it can reach itself without consuming input)")
                    }
                    if state[x] == 0 { state[x] = 1; stack.append((x, 0)) }
                } else {
                    state[node] = 2
                    stack.removeLast()
                }
            }
        }
    }

    /// Helper rules are named `name-N` (see `GBNFParser`); report the rule the
    /// user wrote rather than the helper.
    private static func userFacingName(_ n: String) -> String {
        if let dash = n.firstIndex(of: "-"), n[n.index(after: dash)...].allSatisfy({ $0.isNumber || $0 == "-" }),
           !n[n.index(after: dash)...].isEmpty {
            return String(n[..<dash])
        }
        return n
    }
}

extension Grammar: CustomStringConvertible {
    /// The grammar printed back as GBNF (helper rules included); useful for
    /// debugging and logging.
    public var description: String {
        var out = ""
        for (r, alts) in rules.enumerated() {
            out += ruleNames[r] + " ::= "
            out += alts.map { seq in
                seq.map { el -> String in
                    switch el {
                    case .rule(let x): return ruleNames[x]
                    case .chars(let cc): return Grammar.render(cc)
                    }
                }.joined(separator: " ")
            }.joined(separator: " | ")
            out += "\n"
        }
        return out
    }

    static func render(_ cc: CharClass) -> String {
        func esc(_ c: UInt32) -> String {
            switch c {
            case 0x0A: return "\\n"
            case 0x0D: return "\\r"
            case 0x09: return "\\t"
            case 0x5C: return "\\\\"
            case 0x22: return "\\\""
            case 0x5D: return "\\]"
            case 0x5B: return "\\["
            case 0x2D: return "\\-"
            case 0x5E: return "\\^"
            default:
                if c < 0x20 || c == 0x7F { return "\\x" + String(c, radix: 16, uppercase: true).leftPadded(2) }
                if let s = Unicode.Scalar(c) { return String(Character(s)) }
                return "\\U" + String(c, radix: 16, uppercase: true).leftPadded(8)
            }
        }
        if cc == .any { return "." }
        if !cc.negated && cc.ranges.count == 1 && cc.ranges[0].lowerBound == cc.ranges[0].upperBound {
            return "\"" + esc(cc.ranges[0].lowerBound) + "\""
        }
        var s = cc.negated ? "[^" : "["
        for r in cc.ranges {
            s += esc(r.lowerBound)
            if r.upperBound != r.lowerBound { s += "-" + esc(r.upperBound) }
        }
        return s + "]"
    }
}

/// Helpers for writing GBNF source text.
public enum GBNFText {
    /// A GBNF string literal matching `text` exactly (other control characters as `\xNN`).
    public static func quote(_ text: String) -> String {
        var out = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += "\\x" + String(u.value, radix: 16).leftPadded(2) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

extension String {
    func leftPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
