import Foundation
import Testing
import GGUF
@testable import Tokenization

/// The SentencePiece path against llama.cpp's own outputs on the real model (Gemma 3 270M).
@Suite struct GemmaReferenceTests {
    struct Case: CustomTestStringConvertible {
        let text: String
        let tokens: [Int32]            // add_special off, parse_special on (llama-server /tokenize)
        let pieces: [[UInt8]]
        let tokensAddSpecial: [Int32]  // add_special on, parse_special on
        let tokensNoParse: [Int32]     // add_special off, parse_special off
        let roundTrip: String
        var testDescription: String { text.debugDescription }
    }

    static func cases() throws -> [Case] {
        let root = try loadJSON(TestPaths.reference("tokenize.json")) as! [String: Any]
        return (root["tokenize"] as! [[String: Any]]).map { c in
            let toks = c["tokens"] as! [[String: Any]]
            let noParse = c["tokens_parse_special_false"] as! [[String: Any]]
            return Case(
                text: c["text"] as! String,
                tokens: toks.map { Int32($0["id"] as! Int) },
                pieces: toks.map { pieceBytes($0["piece"])! },
                tokensAddSpecial: (c["tokens_add_special"] as! [Int]).map(Int32.init),
                tokensNoParse: noParse.map { Int32($0["id"] as! Int) },
                roundTrip: c["detokenize_roundtrip"] as! String)
        }
    }

    @Test func referenceHasAllCases() throws {
        #expect(try Self.cases().count == 24)
    }

    @Test(arguments: try cases())
    func tokenizeMatchesLlamaCpp(_ c: Case) throws {
        let t = try Gemma.get()
        #expect(t.tokenize(c.text, addSpecial: false, parseSpecial: true) == c.tokens)
        #expect(t.tokenize(c.text, addSpecial: true, parseSpecial: true) == c.tokensAddSpecial)
        #expect(t.tokenize(c.text, addSpecial: false, parseSpecial: false) == c.tokensNoParse)
    }

    @Test(arguments: try cases())
    func piecesAndRoundTripMatchLlamaCpp(_ c: Case) throws {
        let t = try Gemma.get()
        #expect(c.tokens.map { t.piece($0, special: true) } == c.pieces)
        // llama-server's /detokenize renders special tokens.
        #expect(t.detokenize(c.tokens, unparseSpecial: true) == c.roundTrip)
    }

    @Test func completionPromptsMatchLlamaCpp() throws {
        let t = try Gemma.get()
        let root = try loadJSON(TestPaths.reference("completions.json")) as! [String: Any]
        let completions = root["completions"] as! [[String: Any]]
        #expect(completions.count == 6)
        for c in completions {
            let prompt = c["prompt"] as! String
            let expected = (c["prompt_tokens_with_bos"] as! [[String: Any]]).map { Int32($0["id"] as! Int) }
            #expect(t.tokenize(prompt, addSpecial: true, parseSpecial: true) == expected, "\(prompt.debugDescription)")
            let pieces = (c["prompt_tokens_with_bos"] as! [[String: Any]]).map { pieceBytes($0["piece"])! }
            #expect(expected.map { t.piece($0, special: true) } == pieces)
        }
    }

    @Test func gemmaSpecialIDsAndFlags() throws {
        let t = try Gemma.get()
        let v = t.vocabulary
        #expect(t.vocabularySize == 262_144)
        #expect(v.model == .sentencePiece)
        #expect(v.bos == 2 && v.eos == 1 && v.unk == 3 && v.pad == 0)
        #expect(v.eot == 106)                  // <end_of_turn>, found by its text
        #expect(v.nl == 248)                   // <0x0A>
        #expect(v.addBOS && !v.addEOS && !v.addSpacePrefix)
        #expect(v.endOfGeneration == [1, 106])
        #expect(t.isEndOfGeneration(106) && t.isEndOfGeneration(1) && !t.isEndOfGeneration(2))
        #expect(v.isUnused(6) && v.isControl(6))  // <unused0>
        #expect(v.fimPrefix == nil && v.fimSuffix == nil && v.fimMiddle == nil)
    }

    @Test func controlPiecesOnlyWhenAsked() throws {
        let t = try Gemma.get()
        #expect(t.piece(106, special: false) == [])
        #expect(t.piece(106, special: true) == Array("<end_of_turn>".utf8))
        #expect(t.piece(5, special: false) == Array("[multimodal]".utf8))  // user-defined: always
        #expect(t.piece(248) == [0x0A])
        #expect(t.piece(1902) == Array(" world".utf8))
        #expect(t.piece(-1) == [] && t.piece(Int32(t.vocabularySize)) == [])
        #expect(t.detokenize([2, 105, 2364, 107, 10979, 106]) == "user\nHi")
        #expect(t.detokenize([2, 105, 2364, 107, 10979, 106], unparseSpecial: true) == "<bos><start_of_turn>user\nHi<end_of_turn>")
        #expect(t.detokenize([2, 9259], removeSpecial: true, unparseSpecial: true) == "Hello")
    }
}
