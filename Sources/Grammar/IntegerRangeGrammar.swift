/// GBNF for decimal integers inside a range, used for `minimum`/`maximum` on
/// `"type": "integer"`.
///
/// Works on digit strings: a range is split by number of digits, and each
/// same-length range `lo…hi` becomes "common prefix, then lo's tail up to 9s,
/// the digits strictly between, and 0s up to hi's tail". Magnitudes are capped
/// at 15 digits like the unconstrained number rules.
enum IntegerRangeGrammar {
    static let maxDigits = 15
    static let maxMagnitude: Int64 = 999_999_999_999_999

    /// Expression matching integers `n` with `min <= n <= max` (nil = unbounded),
    /// without leading zeros or `-0`. Nil when the range is empty.
    static func expression(min: Int64?, max: Int64?) -> String? {
        let lo = Swift.max(min ?? -maxMagnitude, -maxMagnitude)
        let hi = Swift.min(max ?? maxMagnitude, maxMagnitude)
        if lo > hi { return nil }
        var alts: [String] = []
        if lo < 0 {
            // Negative part: "-" then a magnitude in [max(1, -hi), -lo].
            let magLo = Swift.max(1, hi < 0 ? -hi : 1)
            let magHi = -lo
            alts.append("\"-\" " + paren(nonNegative(magLo, magHi)))
        }
        if hi >= 0 {
            alts.append(nonNegative(Swift.max(lo, 0), hi))
        }
        return alts.count == 1 ? alts[0] : "(" + alts.joined(separator: " | ") + ")"
    }

    private static func paren(_ s: String) -> String { s.contains(" ") ? "(" + s + ")" : s }

    /// Non-negative integers in [a, b]: the partial first and last lengths use
    /// `sameLength`, all lengths in between are one `[1-9] [0-9]{…}` term.
    private static func nonNegative(_ a: Int64, _ b: Int64) -> String {
        let la = String(a).count, lb = String(b).count
        if la == lb { return sameLength(Array(String(a).utf8), Array(String(b).utf8)) }
        var alts = [sameLength(Array(String(a).utf8), Array(String(pow10(la) - 1).utf8))]
        if lb - la >= 2 {
            let lo = la, hi = lb - 2
            alts.append("[1-9] [0-9]" + (lo == hi ? "{\(lo)}" : "{\(lo),\(hi)}"))
        }
        alts.append(sameLength(Array(String(pow10(lb - 1)).utf8), Array(String(b).utf8)))
        return "(" + alts.joined(separator: " | ") + ")"
    }

    private static func pow10(_ n: Int) -> Int64 {
        var v: Int64 = 1
        for _ in 0..<n { v *= 10 }
        return v
    }

    private static func digits(_ n: Int) -> String { n == 0 ? "" : (n == 1 ? "[0-9]" : "[0-9]{\(n)}") }

    private static func digitClass(_ lo: UInt8, _ hi: UInt8) -> String {
        lo == hi ? "\"\(Character(Unicode.Scalar(lo)))\"" : "[\(Character(Unicode.Scalar(lo)))-\(Character(Unicode.Scalar(hi)))]"
    }

    /// lo and hi have the same number of digits, lo <= hi.
    private static func sameLength(_ lo: [UInt8], _ hi: [UInt8]) -> String {
        if lo.isEmpty { return "" }
        let restLo = Array(lo.dropFirst()), restHi = Array(hi.dropFirst())
        func join(_ a: String, _ b: String) -> String { b.isEmpty ? a : a + " " + b }
        if lo[0] == hi[0] { return join(digitClass(lo[0], lo[0]), paren(sameLength(restLo, restHi))) }
        let n = restLo.count
        if restLo.allSatisfy({ $0 == 0x30 }) && restHi.allSatisfy({ $0 == 0x39 }) {
            return join(digitClass(lo[0], hi[0]), digits(n))
        }
        var alts: [String] = []
        var from = lo[0], to = hi[0]
        if !restLo.allSatisfy({ $0 == 0x30 }) {
            alts.append(join(digitClass(lo[0], lo[0]), paren(sameLength(restLo, [UInt8](repeating: 0x39, count: n)))))
            from += 1
        }
        var tail: String? = nil
        if !restHi.allSatisfy({ $0 == 0x39 }) {
            tail = join(digitClass(hi[0], hi[0]), paren(sameLength([UInt8](repeating: 0x30, count: n), restHi)))
            to -= 1
        }
        if from <= to { alts.append(join(digitClass(from, to), digits(n))) }
        if let tail { alts.append(tail) }
        return alts.count == 1 ? alts[0] : "(" + alts.joined(separator: " | ") + ")"
    }
}
