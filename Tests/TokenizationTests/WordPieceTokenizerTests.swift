import Testing
import GGUF
@testable import Tokenization

/// BERT WordPiece (`bert`) on a hand-built vocabulary, against llama.cpp's normalization and
/// longest-match rules worked out by hand. llama.cpp's own bert-bge cases run in
/// Tests/e2e/test_vocabs.py.
@Suite struct WordPieceTokenizerTests {
    static let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁hello", "▁world", "▁un", "aff", "able",
                         "▁,", "▁!", "▁cafe", "▁中", "▁a", "▁Hello"]

    static func tokenizer(_ extra: [(String, GGUFValue)] = []) throws -> Tokenizer {
        var w = GGUFWriter()
        w.metadata["tokenizer.ggml.model"] = .string("bert")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, tokens.indices.map { .int32($0 < 5 ? 3 : 1) })
        w.metadata["tokenizer.ggml.padding_token_id"] = .uint32(0)
        w.metadata["tokenizer.ggml.unknown_token_id"] = .uint32(1)
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(2)
        w.metadata["tokenizer.ggml.seperator_token_id"] = .uint32(3)
        w.metadata["tokenizer.ggml.mask_token_id"] = .uint32(4)
        for (k, v) in extra { w.metadata[k] = v }
        return try Tokenizer(metadata: GGUFFile(bytes: w.serialized()).metadata)
    }

    @Test func lowercasesAndSplitsPunctuation() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenize("Hello, World!", addSpecial: false) == [5, 10, 6, 11])
        #expect(t.tokenize("hello,world", addSpecial: false) == [5, 10, 6])
    }

    @Test func wordsAreCoveredByLongestTokens() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenize("unaffable", addSpecial: false) == [7, 8, 9])
        // A word with a gap in its cover is [UNK] as a whole, not its covered prefix.
        #expect(t.tokenize("unaffablex hello", addSpecial: false) == [1, 5])
        #expect(t.tokenize("xyz", addSpecial: false) == [1])
    }

    @Test func stripsAccentsAfterDecomposing() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenize("Café", addSpecial: false) == [12])           // precomposed é
        #expect(t.tokenize("cafe\u{301}", addSpecial: false) == [12])    // e + combining acute
    }

    @Test func isolatesCJKIdeographsAndDropsControls() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenize("中文", addSpecial: false) == [13, 1])         // "▁文" is not a token
        #expect(t.tokenize("hel\u{0}lo\u{200B}", addSpecial: false) == [5])  // NUL and ZWSP (Cf) vanish
    }

    @Test func addSpecialFramesWithCLSAndSEP() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenize("hello") == [2, 5, 3])
        #expect(t.tokenize("[CLS]hello", addSpecial: false, parseSpecial: true) == [2, 5])
    }

    @Test func normalizerOptionsComeFromTheFile() throws {
        let cased = try Self.tokenizer([("tokenizer.ggml.normalizer.lowercase", .bool(false))])
        #expect(cased.tokenize("Hello hello", addSpecial: false) == [15, 5])
        // strip_accents follows lowercase unless the file says otherwise: é stays, so no match.
        #expect(cased.tokenize("café", addSpecial: false) == [1])
        let stripping = try Self.tokenizer([("tokenizer.ggml.normalizer.lowercase", .bool(false)),
                                             ("tokenizer.ggml.normalizer.strip_accents", .bool(true))])
        #expect(stripping.tokenize("café", addSpecial: false) == [12])
    }

    @Test func piecesTurnWordStartsIntoSpaces() throws {
        let t = try Self.tokenizer()
        #expect(t.piece(5) == Array(" hello".utf8))
        #expect(t.piece(8) == Array("aff".utf8))
        #expect(t.detokenize([7, 8, 9, 10]) == " unaffable,")
    }

    @Test func codepointMappings() {
        #expect(CodepointMapping.lowercase(0x41) == 0x61)
        #expect(CodepointMapping.lowercase(0x130) == 0x69)       // İ: the simple mapping
        #expect(CodepointMapping.lowercase(0x212A) == 0x6B)      // Kelvin sign → k
        #expect(CodepointMapping.lowercase(0x4E2D) == 0x4E2D)
        #expect(CodepointMapping.firstOfDecomposition(0xE9) == 0x65)     // é → e
        #expect(CodepointMapping.firstOfDecomposition(0x1E09) == 0x63)   // ḉ → c (two marks dropped)
        #expect(CodepointMapping.firstOfDecomposition(0xAC01) == 0x1100) // 각 → ᄀ
        #expect(CodepointMapping.firstOfDecomposition(0x61) == 0x61)
        #expect(CodepointMapping.firstOfDecomposition(0x10FFFF) == 0x10FFFF)
    }
}

/// Gemma 4's raw-text BPE (`gemma4`) on a hand-built vocabulary: spaces become `▁`, the text is
/// split only at newlines, merging starts from UTF-8 characters, and a symbol that is not a
/// token falls back to `<0xNN>` tokens.
@Suite struct SpaceEscapedBPETests {
    static let tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "\n", "\n\n", "▁", "a", "b", "▁a", "ab", "é", "<0x63>", "▁é"]

    static func tokenizer() throws -> Tokenizer {
        var w = GGUFWriter()
        w.metadata["tokenizer.ggml.model"] = .string("gemma4")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, tokens.indices.map { .int32($0 < 4 ? 3 : $0 == 12 ? 6 : 1) })
        w.metadata["tokenizer.ggml.merges"] = .array(.string, ["▁ a", "a b", "▁ é"].map { .string($0) })
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(2)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(1)
        w.metadata["tokenizer.ggml.add_bos_token"] = .bool(false)
        return try Tokenizer(metadata: GGUFFile(bytes: w.serialized()).metadata)
    }

    @Test func mergesOverEscapedText() throws {
        let t = try Self.tokenizer()
        // "a b" → "a▁b": no merge joins "a▁" or "▁b". "ab c" → "ab" + "▁" + "c" via <0x63>.
        #expect(t.tokenize("a b\n\nab c", addSpecial: false) == [7, 6, 8, 5, 10, 6, 12])
        #expect(t.tokenize(" a é", addSpecial: false) == [9, 13])         // multi-byte symbols merge
        #expect(t.tokenize("\n\n\n", addSpecial: false) == [4, 4, 4])     // not a token: per character
    }

    @Test func alwaysAddsBOSAndRendersSpaces() throws {
        let t = try Self.tokenizer()
        #expect(t.vocabulary.addBOS)                                      // llama.cpp overrides the file
        #expect(t.tokenize("a") == [2, 7])
        #expect(t.detokenize([9, 13, 12]) == " a éc")
        #expect(t.vocabulary.nl == 4)
    }
}
