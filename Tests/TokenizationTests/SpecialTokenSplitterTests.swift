import Testing
import GGUF
@testable import Tokenization

/// The order in which special tokens claim text: longest first, each left to right.
@Suite struct SpecialTokenSplitterTests {
    /// A small SentencePiece vocabulary with user-defined and control tokens.
    static func tokenizer() throws -> Tokenizer {
        let tokens = ["<unk>", "<s>", "</s>", "a", "b", "c", "d", "ab", "bcd", "<ctl>", "▁", "<0x20>"]
        let types: [Int32] = [2, 3, 3, 1, 1, 1, 1, 4, 4, 3, 1, 6]
        var w = GGUFWriter()
        w.metadata["tokenizer.ggml.model"] = .string("llama")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.scores"] = .array(.float32, tokens.map { _ in .float32(0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, types.map { .int32($0) })
        w.metadata["tokenizer.ggml.add_space_prefix"] = .bool(false)
        return try Tokenizer(metadata: GGUFFile(bytes: w.serialized()).metadata)
    }

    @Test func longerTokenClaimsFirstEvenWhenItStartsLater() throws {
        let t = try Self.tokenizer()
        // "bcd" (3 bytes) is searched before "ab" (2): it takes "bcd", leaving "a".
        // A leftmost-longest scan would have given "ab" + "c" + "d" instead.
        #expect(t.tokenize("abcd", addSpecial: false) == [3, 8])
        #expect(t.tokenize("abab", addSpecial: false) == [7, 7])
        #expect(t.tokenize("abcdab", addSpecial: false) == [3, 8, 7])
    }

    @Test func controlTokensOnlyWithParseSpecial() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenize("a<ctl>b", addSpecial: false, parseSpecial: true) == [3, 9, 4])
        let plain = t.tokenize("a<ctl>b", addSpecial: false, parseSpecial: false)
        #expect(!plain.contains(9))
        #expect(t.tokenize("<s>ab</s>", addSpecial: true, parseSpecial: true) == [1, 1, 7, 2])
    }

    @Test func gemmaSpaceRunsGoLongestFirst() throws {
        let t = try Gemma.get()
        // Gemma has user-defined tokens for 2…31 spaces (ids 138…167): 100 spaces are three
        // runs of 31 (left to right), and the 7 left over are one 7-space token (id 143).
        let text = "a" + String(repeating: " ", count: 100) + "b"
        #expect(t.tokenize(text, addSpecial: false) == [236746, 167, 167, 167, 143, 236763])
        // Newline runs likewise ("\n" × 31 is id 137).
        let lines = String(repeating: "\n", count: 33)
        #expect(t.tokenize(lines, addSpecial: false) == [137, 108])
    }
}
