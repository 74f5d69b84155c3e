import Testing
@testable import Tokenization

/// Streaming output never contains part of a character, and adds up to the full detokenization.
@Suite struct StreamingDetokenizerTests {
    /// Feeds `ids` one at a time; returns each step's output and the final flush.
    static func stream(_ t: Tokenizer, _ ids: [Int32], special: Bool = false) -> (steps: [String], rest: String) {
        var s = t.makeStreamingDetokenizer(special: special)
        let steps = ids.map { s.append($0) }
        return (steps, s.finish())
    }

    @Test func emojiFromFourByteTokens() throws {
        let t = try Gemma.get()
        // 🦙 has no token in Gemma: it is four <0xNN> byte-fallback tokens.
        let ids = t.tokenize("🦙", addSpecial: false)
        #expect(ids == [478, 397, 404, 391])
        let (steps, rest) = Self.stream(t, ids)
        #expect(steps == ["", "", "", "🦙"])
        #expect(rest == "")
    }

    @Test func mixedTextAddsUpAndNeverSplitsCharacters() throws {
        let t = try Gemma.get()
        let text = "Café au lait ☕ costs 3 € in Paris. 🦙 Llamas 𝔹 live in the Andes. 東京 👨‍👩‍👧‍👦 🏳️‍🌈 Ещё"
        let ids = t.tokenize(text, addSpecial: true)
        let (steps, rest) = Self.stream(t, ids)
        #expect(steps.joined() + rest == t.detokenize(ids))
        #expect(steps.joined() + rest == text)
        for step in steps { #expect(!step.unicodeScalars.contains("\u{FFFD}")) }
        #expect(ids.contains(478))  // the byte-fallback path was exercised
    }

    @Test func controlTokensFollowTheSpecialFlag() throws {
        let t = try Gemma.get()
        let ids = t.tokenize("<start_of_turn>user\nHi<end_of_turn>", addSpecial: true, parseSpecial: true)
        let plain = Self.stream(t, ids)
        #expect(plain.steps.joined() + plain.rest == "user\nHi")
        let special = Self.stream(t, ids, special: true)
        #expect(special.steps.joined() + special.rest == "<bos><start_of_turn>user\nHi<end_of_turn>")
    }

    @Test func heldBytesAndInvalidBytes() throws {
        let t = try Gemma.get()
        var s = t.makeStreamingDetokenizer()
        #expect(s.append(bytes: [0x61, 0xE2]) == "a")           // € starts: hold E2
        #expect(s.hasPendingBytes)
        #expect(s.append(bytes: [0x82]) == "")
        #expect(s.append(bytes: [0xAC, 0x62]) == "€b")
        #expect(!s.hasPendingBytes)
        #expect(s.append(bytes: [0xFF, 0x63]) == "\u{FFFD}c")   // never valid: emitted, not held
        #expect(s.append(bytes: [0xF0, 0x9F]) == "")
        #expect(s.finish() == "\u{FFFD}")                         // an unfinished character at the end
        #expect(!s.hasPendingBytes)
    }

    @Test func incompleteSuffixRules() {
        #expect(StreamingDetokenizer.incompleteSuffixLength([]) == 0)
        #expect(StreamingDetokenizer.incompleteSuffixLength([0x41]) == 0)
        #expect(StreamingDetokenizer.incompleteSuffixLength([0xC3]) == 1)
        #expect(StreamingDetokenizer.incompleteSuffixLength([0xC3, 0xA9]) == 0)
        #expect(StreamingDetokenizer.incompleteSuffixLength([0xF0, 0x9F, 0xA6]) == 3)
        #expect(StreamingDetokenizer.incompleteSuffixLength([0xF0, 0x9F, 0xA6, 0x99]) == 0)
        #expect(StreamingDetokenizer.incompleteSuffixLength([0xE0, 0x80]) == 0)  // overlong: invalid
        #expect(StreamingDetokenizer.incompleteSuffixLength([0xED, 0xA0]) == 0)  // surrogate: invalid
        #expect(StreamingDetokenizer.incompleteSuffixLength([0x80, 0x80, 0x80]) == 0)
    }

    @Test func byteLevelBPEStreams() throws {
        let t = try BPETokenizerTests.tokenizer(pre: "qwen2")
        let text = "café 中文 🦙 naïve Привет"
        let ids = t.tokenize(text, addSpecial: false)
        let (steps, rest) = Self.stream(t, ids)
        #expect(steps.joined() + rest == text)
        for step in steps { #expect(!step.unicodeScalars.contains("\u{FFFD}")) }
    }
}
