import Foundation
import Testing
import GGUF
@testable import Tokenization

/// Errors for models we cannot tokenize, and the speed budget on the real vocabulary.
@Suite struct TokenizerLoadingTests {
    static func metadata(model: String?, tokens: [String]? = ["a", "b"]) throws -> GGUFMetadata {
        var w = GGUFWriter()
        if let model { w.metadata["tokenizer.ggml.model"] = .string(model) }
        if let tokens { w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) }) }
        return try GGUFFile(bytes: w.serialized()).metadata
    }

    @Test(arguments: ["t5", "rwkv", "plamo2", "whatever"])
    func unsupportedModelIsNamed(_ model: String) throws {
        do {
            _ = try Tokenizer(metadata: Self.metadata(model: model))
            Issue.record("expected an error for \(model)")
        } catch let e as TokenizationError {
            #expect(e == .unsupportedModel(model))
            #expect(e.description.contains("'\(model)'"))
        }
    }

    @Test func missingKeysAreNamed() throws {
        #expect(throws: TokenizationError.missingKey("tokenizer.ggml.model")) {
            try Tokenizer(metadata: Self.metadata(model: nil))
        }
        #expect(throws: TokenizationError.missingKey("tokenizer.ggml.tokens")) {
            try Tokenizer(metadata: Self.metadata(model: "llama", tokens: nil))
        }
        #expect(throws: TokenizationError.missingKey("tokenizer.ggml.merges")) {
            try Tokenizer(metadata: Self.metadata(model: "gpt2"))
        }
    }

    @Test func sentencePieceAddSpacePrefix() throws {
        // llama-style SPM defaults: add_space_prefix on, so "hi" is tokenized as "▁hi", and the
        // leading space comes off again when detokenizing.
        var w = GGUFWriter()
        let tokens = ["<unk>", "<s>", "</s>", "▁", "h", "i", "▁h", "▁hi", "<0x21>"]
        w.metadata["tokenizer.ggml.model"] = .string("llama")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.scores"] = .array(.float32, [0, 0, 0, -1, -2, -2, -3, -1, 0].map { .float32($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, [2, 3, 3, 1, 1, 1, 1, 1, 6].map { .int32($0) })
        let t = try Tokenizer(metadata: GGUFFile(bytes: w.serialized()).metadata)
        #expect(t.vocabulary.addBOS && t.vocabulary.addSpacePrefix && t.vocabulary.bos == 1)
        #expect(t.tokenize("hi") == [1, 7])
        #expect(t.tokenize("hi!", addSpecial: false) == [7, 8])        // "!" via byte fallback <0x21>
        #expect(t.tokenize("hi hi", addSpecial: false) == [7, 7])
        #expect(t.tokenize("</s>hi", addSpecial: false, parseSpecial: true) == [2, 7])  // prefix after special
        #expect(t.detokenize([7, 7]) == "hi hi")                        // the prefix space comes off
        // As in llama.cpp, only the first token may lose its space: a BOS (empty piece) uses up
        // that chance, and a BOS removed by removeSpecial turns it off.
        #expect(t.detokenize([1, 7, 7]) == " hi hi")
        #expect(t.detokenize([1, 7, 7], removeSpecial: true) == " hi hi")
        #expect(t.detokenize([1, 7, 7], unparseSpecial: true) == "<s> hi hi")
        #expect(t.vocabulary.nl == nil || t.vocabulary.nl == 0)
        #expect(t.piece(0) == [] && t.piece(0, special: true) == Array("<unk>".utf8))
    }

    @Test func gemmaLoadAndTokenizeTimings() throws {
        let clock = ContinuousClock()
        var parsed: GGUFFile?
        let parse = clock.measure { parsed = try? GGUFFile(path: TestPaths.model) }
        let file = try #require(parsed)
        var tokenizer: Tokenizer?
        let load = clock.measure { tokenizer = try? Tokenizer(file: file) }
        let t = try #require(tokenizer)
        var prompt = ""
        while prompt.utf8.count < 2048 {
            prompt += "The old lighthouse keeper climbed the spiral stairs every evening, and 東京は日本の首都です。 "
        }
        var ids: [Int32] = []
        let tokenize = clock.measure { for _ in 0..<10 { ids = t.tokenize(prompt, addSpecial: true, parseSpecial: true) } }
        print("gemma tokenizer: GGUF parse \(parse), tokenizer load \(load), tokenize 2 KB (\(ids.count) tokens) \(tokenize / 10) per call")
        #expect(t.detokenize(ids, removeSpecial: true) == prompt)
        // Generous bounds: debug builds run these several times slower than release.
        #expect(load < .seconds(20))
        #expect(tokenize / 10 < .seconds(1))
    }
}
