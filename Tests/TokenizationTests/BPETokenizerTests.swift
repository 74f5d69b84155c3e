import Foundation
import Testing
import GGUF
@testable import Tokenization

/// Byte-level BPE against an independent implementation: `scripts/gen-bpe-fixtures.py` trains a
/// small vocabulary and records what Hugging Face `tokenizers` produces with each llama.cpp
/// pre-tokenizer written as a regex pipeline. Here we load the same vocabulary through a GGUF
/// file and must produce the same ids.
@Suite struct BPETokenizerTests {
    struct Fixture {
        let tokens: [String]
        let types: [Int]
        let merges: [String]
        let cases: [String: [(text: String, ids: [Int32], words: [String])]]
    }

    static let fixture: Fixture = {
        let root = try! loadJSON(TestPaths.fixture("bpe-synthetic.json")) as! [String: Any]
        var cases: [String: [(String, [Int32], [String])]] = [:]
        for (name, list) in root["cases"] as! [String: [[String: Any]]] {
            cases[name] = list.map { ($0["text"] as! String, ($0["ids"] as! [Int]).map(Int32.init), $0["words"] as! [String]) }
        }
        return Fixture(tokens: root["tokens"] as! [String], types: root["token_type"] as! [Int],
                       merges: root["merges"] as! [String], cases: cases)
    }()

    /// A GGUF file holding the fixture vocabulary, parsed back, as a model file would be.
    static func metadata(pre: String?, extra: [(String, GGUFValue)] = []) throws -> GGUFMetadata {
        let f = fixture
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("test")
        w.metadata["tokenizer.ggml.model"] = .string("gpt2")
        if let pre { w.metadata["tokenizer.ggml.pre"] = .string(pre) }
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, f.tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, f.types.map { .int32(Int32($0)) })
        w.metadata["tokenizer.ggml.merges"] = .array(.string, f.merges.map { .string($0) })
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(0)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(0)
        for (k, v) in extra { w.metadata[k] = v }
        return try GGUFFile(bytes: w.serialized()).metadata
    }

    static func tokenizer(pre: String?) throws -> Tokenizer { try Tokenizer(metadata: metadata(pre: pre)) }

    static let preNames = ["default", "gpt-2", "llama-bpe", "qwen2", "starcoder"]

    @Test func fixtureCoversEveryPreTokenizer() {
        #expect(Set(Self.fixture.cases.keys) == Set(Self.preNames))
        for name in Self.preNames { #expect(Self.fixture.cases[name]!.count == 25) }
    }

    @Test(arguments: preNames)
    func idsMatchOracle(_ pre: String) throws {
        let t = try Self.tokenizer(pre: pre)
        for c in Self.fixture.cases[pre]! {
            #expect(t.tokenize(c.text, addSpecial: false, parseSpecial: true) == c.ids, "\(pre): \(c.text.debugDescription)")
        }
    }

    @Test(arguments: preNames)
    func wordsMatchOracle(_ pre: String) throws {
        let settings = try #require(PreTokenizer.Settings(name: pre))
        let p = PreTokenizer(program: settings.program)
        let special = Set(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        for c in Self.fixture.cases[pre]! where !special.contains(where: { c.text.contains($0) }) {
            var bytes = Array(c.text.utf8)
            let words = bytes.withUnsafeMutableBufferPointer { buf in
                p.split(UnsafeBufferPointer(buf)).map { ByteLevelEncoding.encode(buf[$0]) }
            }
            #expect(words == c.words, "\(pre): \(c.text.debugDescription)")
        }
    }

    @Test func qwen2RoundTripsExactly() throws {
        // qwen2 does not clean up spaces, so detokenizing gives back the input byte for byte.
        let t = try Self.tokenizer(pre: "qwen2")
        for c in Self.fixture.cases["qwen2"]! {
            #expect(t.detokenize(c.ids, unparseSpecial: true) == c.text, "\(c.text.debugDescription)")
        }
    }

    @Test func mergesApplyByRank() throws {
        let t = try Self.tokenizer(pre: "gpt-2")
        let v = t.vocabulary
        // "Hello" is one token because merges build it; " Hello" carries the Ġ space marker.
        let hello = try #require(v.id(forText: "Hello"))
        #expect(t.tokenize("Hello", addSpecial: false) == [hello])
        let spaceHello = try #require(v.id(forText: "ĠHello"))
        #expect(t.tokenize(" Hello", addSpecial: false) == [spaceHello])
        // With only some merges known, the lowest rank wins: "l l" ranks before "ll o".
        let ll = try #require(v.id(forText: "ll"))
        let llo = try #require(v.id(forText: "llo"))
        let mergeLL = try #require(Self.fixture.merges.firstIndex(of: "l l"))
        let mergeLLO = try #require(Self.fixture.merges.firstIndex(of: "ll o"))
        #expect(mergeLL < mergeLLO)
        #expect(t.tokenize("llo", addSpecial: false) == [llo])
        #expect(t.tokenize("ll", addSpecial: false) == [ll])
    }

    /// A hand-built vocabulary where the answer depends only on merge ranks.
    static func handMade(merges: [String], extraTokens: [String] = []) throws -> Tokenizer {
        let tokens = ["a", "b", "c", "ab", "bc", "aa", "Ġ", "Ġa"] + extraTokens
        var w = GGUFWriter()
        w.metadata["tokenizer.ggml.model"] = .string("gpt2")
        w.metadata["tokenizer.ggml.pre"] = .string("gpt-2")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.merges"] = .array(.string, merges.map { .string($0) })
        return try Tokenizer(metadata: GGUFFile(bytes: w.serialized()).metadata)
    }

    @Test func lowerRankMergesFirst() throws {
        // "abc": the pairs are (a,b) and (b,c); whichever merge ranks first decides.
        let bcFirst = try Self.handMade(merges: ["b c", "a b"])
        #expect(bcFirst.tokenize("abc", addSpecial: false) == [0, 4])   // a + bc
        let abFirst = try Self.handMade(merges: ["a b", "b c"])
        #expect(abFirst.tokenize("abc", addSpecial: false) == [3, 2])   // ab + c
        // Equal ranks (the same pair twice): the leftmost pair merges first.
        #expect(abFirst.tokenize("aaa", addSpecial: false) == [0, 0, 0])  // no "a a" merge
        let aa = try Self.handMade(merges: ["a a"])
        #expect(aa.tokenize("aaa", addSpecial: false) == [5, 0])
        // A merge whose result is not a token still happens; the symbol then falls back to
        // its single-byte tokens (llama.cpp looks up each byte of the symbol).
        let orphan = try Self.handMade(merges: ["a c"])
        #expect(orphan.tokenize("ac", addSpecial: false) == [0, 2])
        // " a" is one word under the GPT-2 regex; "Ġ a" merges it into "Ġa".
        let space = try Self.handMade(merges: ["Ġ a"])
        #expect(space.tokenize("a a", addSpecial: false) == [0, 7])
        // A byte with no token at all (here "z") is dropped, as in llama.cpp.
        #expect(space.tokenize("z", addSpecial: false) == [])
    }

    @Test func nonASCIIUsesByteLevelMapping() throws {
        let t = try Self.tokenizer(pre: "gpt-2")
        // U+1F999 (🦙) is F0 9F A6 99; each byte is a mapped single-character token.
        let ids = t.tokenize("🦙", addSpecial: false)
        let expected = [0xF0, 0x9F, 0xA6, 0x99].map { t.vocabulary.id(forText: ByteLevelEncoding.encode([UInt8($0)]))! }
        // Merges may join some of those bytes, but the bytes of the pieces must spell the emoji.
        #expect(ids.flatMap { t.piece($0) } == Array("🦙".utf8))
        #expect(ids.count <= expected.count)
        #expect(ByteLevelEncoding.encode([0x20]) == "Ġ" && ByteLevelEncoding.encode([0x0A]) == "Ċ")
        #expect(ByteLevelEncoding.decode("Ġhello") == Array(" hello".utf8))
        #expect(ByteLevelEncoding.decode("a b") == nil)  // a raw space is outside the mapping
    }

    @Test func specialTokensOnlyWhenParsing() throws {
        let t = try Self.tokenizer(pre: "llama-bpe")
        let start = try #require(t.vocabulary.id(forText: "<|im_start|>"))
        let withSpecial = t.tokenize("<|im_start|>x", addSpecial: false, parseSpecial: true)
        #expect(withSpecial.first == start)
        let plain = t.tokenize("<|im_start|>x", addSpecial: false, parseSpecial: false)
        #expect(!plain.contains(start))
        #expect(t.detokenize(plain) == "<|im_start|>x")
        #expect(t.piece(start, special: false) == [] && t.piece(start, special: true) == Array("<|im_start|>".utf8))
    }

    @Test func llama3AddsBOSByDefaultAndFileOverrides() throws {
        #expect(try Self.tokenizer(pre: "llama-bpe").tokenize("hi").first == 0)
        let qwen = try Self.tokenizer(pre: "qwen2")
        #expect(qwen.tokenize("hi") == qwen.tokenize("hi", addSpecial: false))
        let off = try Tokenizer(metadata: Self.metadata(pre: "llama-bpe", extra: [("tokenizer.ggml.add_bos_token", .bool(false))]))
        #expect(off.tokenize("hi") == off.tokenize("hi", addSpecial: false))
        let eos = try Tokenizer(metadata: Self.metadata(pre: "qwen2", extra: [("tokenizer.ggml.add_eos_token", .bool(true))]))
        #expect(eos.tokenize("hi").last == 0)
        #expect(eos.detokenize(eos.tokenize("hi"), removeSpecial: true) == "hi")
    }

    @Test func endOfGenerationByText() throws {
        let t = try Self.tokenizer(pre: "qwen2")
        let imEnd = try #require(t.vocabulary.id(forText: "<|im_end|>"))
        let eot = try #require(t.vocabulary.id(forText: "<|endoftext|>"))
        #expect(t.isEndOfGeneration(imEnd) && t.isEndOfGeneration(eot))
        #expect(t.vocabulary.eot == imEnd)
        #expect(!t.isEndOfGeneration(try #require(t.vocabulary.id(forText: "<|im_start|>"))))
    }

    /// gpt-oss (o200k_harmony): its control markers are written out as llama.cpp writes them
    /// (channels, recipients and message ends reach the chat parser), `<|end|>` ends a message but
    /// not the generation, `<|return|>` and `<|call|>` end it.
    @Test func harmonyMarkersAreRenderedAndEndIsNotEndOfGeneration() throws {
        let markers = ["<|start|>", "<|channel|>", "<|message|>", "<|constrain|>", "<|end|>", "<|return|>", "<|call|>"]
        let f = Self.fixture
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("test")
        w.metadata["tokenizer.ggml.model"] = .string("gpt2")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, (f.tokens + markers).map { .string($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, (f.types + markers.map { _ in 3 }).map { .int32(Int32($0)) })
        w.metadata["tokenizer.ggml.merges"] = .array(.string, f.merges.map { .string($0) })
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(0)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(0)
        let t = try Tokenizer(metadata: try GGUFFile(bytes: w.serialized()).metadata)
        func id(_ s: String) throws -> Int32 { try #require(t.vocabulary.id(forText: s)) }
        for m in ["<|start|>", "<|channel|>", "<|message|>", "<|constrain|>", "<|end|>"] {
            let token = try id(m)
            #expect(t.piece(token, special: false) == Array(m.utf8), "\(m)")
        }
        let end = try id("<|end|>"), ret = try id("<|return|>"), call = try id("<|call|>")
        #expect(t.piece(ret, special: false) == [])
        #expect(t.isEndOfGeneration(ret) && t.isEndOfGeneration(call))
        #expect(!t.isEndOfGeneration(end))
    }

    @Test func cleanUpSpacesLikeLlamaCpp() {
        func clean(_ s: String) -> String { String(decoding: Tokenizer.cleanUpSpaces(Array(s.utf8)), as: UTF8.self) }
        #expect(clean("Hello , world !") == "Hello, world!")
        #expect(clean("a ' b") == "a'b")
        #expect(clean("it 's we 're I 'm they 've") == "it's we're I'm they've")
        #expect(clean("don 't I 'll") == "don 't I 'll")
        #expect(clean("") == "")
        // gpt-2 cleans up, so " ." loses its space when detokenizing.
        let t = try! Self.tokenizer(pre: "gpt-2")
        #expect(t.detokenize(t.tokenize("Hello . x", addSpecial: false)) == "Hello. x")
    }

    @Test func fimTokensFromKeysOrText() throws {
        let plain = try Self.tokenizer(pre: "qwen2")
        #expect(plain.vocabulary.fimPrefix == nil && plain.vocabulary.fimSuffix == nil && plain.vocabulary.fimMiddle == nil)
        let keyed = try Tokenizer(metadata: Self.metadata(pre: "qwen2", extra: [
            ("tokenizer.ggml.fim_pre_token_id", .uint32(10)), ("tokenizer.ggml.fim_suf_token_id", .uint32(11)),
            ("tokenizer.ggml.fim_mid_token_id", .uint32(12)), ("tokenizer.ggml.fim_pad_token_id", .uint32(13)),
            ("tokenizer.ggml.eot_token_id", .uint32(2)),
            ("tokenizer.ggml.padding_token_id", .uint32(999_999)),  // out of range: ignored
        ]))
        let v = keyed.vocabulary
        #expect(v.fimPrefix == 10 && v.fimSuffix == 11 && v.fimMiddle == 12 && v.fimPad == 13)
        #expect(v.eot == 2 && v.pad == nil)
        #expect(v.isEndOfGeneration(13))  // FIM padding ends generation, as in llama.cpp
        #expect(v.isControl(10) == (Self.fixture.types[10] == 3))  // named by key: keeps its type
        // Found by its text: "<|fim_prefix|>" becomes the FIM prefix and is forced to control.
        let detected = try Self.handMade(merges: [], extraTokens: ["<|fim_prefix|>", "<|file_sep|>"])
        #expect(detected.vocabulary.fimPrefix == 8 && detected.vocabulary.isControl(8))
        #expect(detected.vocabulary.fimSeparator == 9 && detected.isEndOfGeneration(9))
    }

    @Test func unsupportedPreTokenizerIsNamed() throws {
        do {
            _ = try Self.tokenizer(pre: "tekken-9000")
            Issue.record("expected an error")
        } catch let e as TokenizationError {
            #expect(e == .unsupportedPreTokenizer("tekken-9000"))
            #expect(e.description.contains("'tekken-9000'"))
        }
    }

    @Test func missingPreMeansDefault() throws {
        let t = try Self.tokenizer(pre: nil)
        for c in Self.fixture.cases["default"]! {
            #expect(t.tokenize(c.text, addSpecial: false, parseSpecial: true) == c.ids)
        }
    }
}
