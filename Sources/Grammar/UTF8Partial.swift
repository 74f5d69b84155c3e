/// Byte-at-a-time UTF-8 decoding for the matcher, which must judge tokens that
/// end in the middle of a character.
///
/// Only well-formed UTF-8 is accepted: overlong forms, surrogates and values
/// above U+10FFFF are rejected, and as early as the byte that rules them out.
/// This matters because vocabularies contain single-byte tokens: without the
/// check the byte tokens `F0 80 81 B4` spell an overlong "t", which a grammar
/// expecting `true` would accept while the client receives invalid UTF-8.
///
/// A pending character is `(value, remaining)`: the payload bits read so far
/// and the number of continuation bytes still missing. The value also carries a
/// marker bit just above the lead byte's payload, so the sequence length (and
/// with it the smallest legal code point) can be recovered from the pair alone.
/// Complete 2-, 3- and 4-byte values then lie in the disjoint ranges
/// 0x800…0xFFF, 0x1_0000…0x1_FFFF and 0x20_0000…0x3F_FFFF.
enum UTF8Partial {
    enum Step {
        /// A whole code point was read.
        case complete(UInt32)
        /// More bytes are needed; the new pending state.
        case pending(value: UInt32, remaining: Int)
        /// The bytes cannot be part of well-formed UTF-8.
        case invalid
    }

    /// Reads `byte` with no character pending.
    @inline(__always)
    static func start(_ byte: UInt8) -> Step {
        switch byte {
        case 0x00..<0x80: return .complete(UInt32(byte))
        case 0xC2..<0xE0: return .pending(value: 0x20 | UInt32(byte & 0x1F), remaining: 1)
        case 0xE0..<0xF0: return .pending(value: 0x10 | UInt32(byte & 0x0F), remaining: 2)
        case 0xF0..<0xF5: return .pending(value: 0x08 | UInt32(byte & 0x07), remaining: 3)
        default: return .invalid // continuation byte, C0/C1 (always overlong) or F5+ (beyond U+10FFFF)
        }
    }

    /// Reads continuation `byte` of the pending character `(value, remaining)`.
    @inline(__always)
    static func next(_ value: UInt32, _ remaining: Int, _ byte: UInt8) -> Step {
        guard byte & 0xC0 == 0x80 else { return .invalid }
        let v = (value << 6) | UInt32(byte & 0x3F)
        if remaining > 1 {
            return codePoints(v, remaining - 1) == nil ? .invalid : .pending(value: v, remaining: remaining - 1)
        }
        guard let r = codePoints(v, 0) else { return .invalid }
        return .complete(r.lowerBound)
    }

    /// The legal code points that can still complete `(value, remaining)`
    /// (remaining 0: the single completed one); nil when there are none.
    /// A range that also covers surrogates is returned whole: it only happens
    /// right after an ED lead byte, where the next byte still decides.
    @inline(__always)
    static func codePoints(_ value: UInt32, _ remaining: Int) -> ClosedRange<UInt32>? {
        let shift = UInt32(6 * remaining)
        let lo = value << shift
        let hi = lo | ((1 << shift) - 1)
        let low: UInt32, high: UInt32
        if lo >= 0x20_0000 {
            low = max(lo - 0x20_0000, 0x1_0000)
            high = min(hi - 0x20_0000, 0x10_FFFF)
        } else if lo >= 0x1_0000 {
            low = max(lo - 0x1_0000, 0x800)
            high = hi - 0x1_0000
            if low >= 0xD800 && high <= 0xDFFF { return nil }
        } else {
            low = lo - 0x800
            high = hi - 0x800
        }
        return low <= high ? low...high : nil
    }
}
