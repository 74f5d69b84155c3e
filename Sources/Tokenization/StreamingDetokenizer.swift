/// Turns generated tokens into text one token at a time without ever emitting part of a
/// UTF-8 character.
///
/// A character can arrive split over several tokens (an emoji as four `<0xNN>` byte tokens, or
/// a BPE token ending mid-character), so each call returns only the text that is complete so
/// far and keeps the bytes of a trailing, still-incomplete character for the next call.
/// Bytes that can never become valid UTF-8 are emitted as U+FFFD rather than held forever.
/// The concatenation of everything returned (including `finish()`) equals decoding the
/// concatenated pieces in one go.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let special: Bool
    private var pending: [UInt8] = []

    /// - Parameter special: render control tokens' text (llama.cpp's `special` flag).
    public init(tokenizer: Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// Adds one token; returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: tokenizer.piece(id, special: special))
        return drainComplete()
    }

    /// Adds raw bytes (for callers that produce pieces themselves).
    public mutating func append(bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        return drainComplete()
    }

    /// Whether bytes of an incomplete character are being held back.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// Ends the stream: returns whatever is held back, with an incomplete character as U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    private mutating func drainComplete() -> String {
        let keep = Self.incompleteSuffixLength(pending)
        if keep == pending.count { return "" }
        let text = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// How many trailing bytes are the valid start of a character whose remaining bytes have not
    /// arrived yet (0 when the buffer ends on a complete character or on invalid bytes).
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // A character is at most 4 bytes, so only the last 3 can be an unfinished start.
        var back = 1
        while back <= min(3, n) {
            let b = bytes[n - back]
            if b & 0xC0 == 0x80 { back += 1; continue }  // continuation byte: keep looking back
            let need: Int
            switch b {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            default: return 0  // ASCII or a byte that cannot start a character
            }
            guard back < need else { return 0 }  // the character is already complete
            // Check the bytes present are a valid prefix (rules out overlongs and surrogates).
            if back >= 2 {
                let b1 = bytes[n - back + 1]
                switch b {
                case 0xE0: if b1 < 0xA0 { return 0 }
                case 0xED: if b1 > 0x9F { return 0 }
                case 0xF0: if b1 < 0x90 { return 0 }
                case 0xF4: if b1 > 0x8F { return 0 }
                default: break
                }
            }
            return back
        }
        return 0
    }
}
