import GGUF
import Tokenization

/// Fuzzes tokenization on arbitrary bytes with small vocabularies built here (SentencePiece,
/// byte-level BPE with each pre-tokenizer program, Gemma 4's raw-text BPE, WordPiece): prompts
/// are untrusted text. The first input byte picks the vocabulary (bit 0x80 and the low three
/// bits) and flags; the rest is the text.
enum TokenizerFuzzEntry {
    static let tokenizers: [Tokenizer] = {
        var all = [try! Tokenizer(metadata: sentencePieceMetadata())]
        for pre in ["gpt-2", "llama-bpe", "qwen2", "default"] { all.append(try! Tokenizer(metadata: bytePairMetadata(pre: pre))) }
        return all
    }()

    /// Chosen when the selector has bit 0x80; the first `losslessExtras` spell their input exactly.
    static let extraTokenizers: [Tokenizer] = {
        var all: [Tokenizer] = []
        for pre in ["falcon", "deepseek-coder", "deepseek-llm", "qwen35", "starcoder"] {
            all.append(try! Tokenizer(metadata: bytePairMetadata(pre: pre)))
        }
        all.append(try! Tokenizer(metadata: spaceEscapedMetadata()))
        all.append(try! Tokenizer(metadata: wordPieceMetadata()))
        return all
    }()
    static let losslessExtras = 6

    static func run(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let tokenizer: Tokenizer
        let isBPE: Bool
        if selector & 0x80 != 0 {
            let index = Int(selector & 0x7) % extraTokenizers.count
            tokenizer = extraTokenizers[index]
            isBPE = index < losslessExtras
        } else {
            tokenizer = tokenizers[Int(selector & 0x7) % tokenizers.count]
            isBPE = Int(selector & 0x7) % tokenizers.count != 0
        }
        let parseSpecial = selector & 0x8 != 0
        let addSpecial = selector & 0x10 != 0
        let text = String(decoding: bytes.dropFirst(), as: UTF8.self)

        let ids = tokenizer.tokenize(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
        for id in ids { check(id >= 0 && Int(id) < tokenizer.vocabularySize, "token id \(id) out of range") }
        if isBPE && !parseSpecial && !addSpecial {
            // BPE with a fallback token for every byte is lossless: the pieces spell the input.
            let spelled = ids.flatMap { tokenizer.piece($0, special: true) }
            check(spelled == Array(text.utf8), "BPE pieces do not spell the input")
        }
        _ = tokenizer.detokenize(ids, removeSpecial: selector & 0x20 != 0, unparseSpecial: selector & 0x40 != 0)
        var stream = tokenizer.makeStreamingDetokenizer(special: selector & 0x40 != 0)
        var streamed = ""
        for id in ids { streamed += stream.append(id) }
        streamed += stream.finish()
        // Ids straight from the input bytes, including out-of-range ones, must be harmless.
        let raw = stride(from: 1, to: bytes.count - 1, by: 2).map { Int32(bytes[$0]) << 8 | Int32(bytes[$0 + 1]) }
        _ = tokenizer.detokenize(raw.map { $0 - 8 })
    }

    // MARK: vocabularies

    static func sentencePieceMetadata() -> GGUFMetadata {
        var tokens = ["<unk>", "<s>", "</s>", "<start_of_turn>", "<end_of_turn>"]
        var types: [Int32] = [2, 3, 3, 4, 4]
        for b in 0..<256 {
            tokens.append("<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">")
            types.append(6)
        }
        let pieces = ["▁", "▁t", "h", "e", "he", "▁the", "▁a", "a", "t", "▁th", "in", "▁in", "ing", "i", "n", "g",
                      "▁▁", "é", "日本", "語", "▁\n", "\n"]
        tokens += pieces
        types += pieces.map { _ in 1 }
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("test")
        w.metadata["tokenizer.ggml.model"] = .string("llama")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.scores"] = .array(.float32, tokens.indices.map { .float32(-Float($0) / 10) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, types.map { .int32($0) })
        w.metadata["tokenizer.ggml.unknown_token_id"] = .uint32(0)
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(1)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(2)
        w.metadata["tokenizer.ggml.add_bos_token"] = .bool(true)
        w.metadata["tokenizer.ggml.add_space_prefix"] = .bool(true)
        return try! GGUFFile(bytes: w.serialized()).metadata
    }

    static func bytePairMetadata(pre: String) -> GGUFMetadata {
        var tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        var types: [Int32] = [3, 3, 3]
        for b in 0..<256 {
            tokens.append(String(byteLevelCharacter(UInt8(b))))
            types.append(1)
        }
        let merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "in g", "Ġ Ġ", "e r", "Ċ Ċ", "Ã ©"]
        for m in merges {
            tokens.append(m.split(separator: " ").joined())
            types.append(1)
        }
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("test")
        w.metadata["tokenizer.ggml.model"] = .string("gpt2")
        w.metadata["tokenizer.ggml.pre"] = .string(pre)
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, types.map { .int32($0) })
        w.metadata["tokenizer.ggml.merges"] = .array(.string, merges.map { .string($0) })
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(0)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(2)
        return try! GGUFFile(bytes: w.serialized()).metadata
    }

    /// Gemma 4 style: raw UTF-8 pieces with ▁ for spaces, merges over characters, every byte
    /// as a `<0xNN>` token.
    static func spaceEscapedMetadata() -> GGUFMetadata {
        var tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>"]
        var types: [Int32] = [3, 3, 3, 2, 4]
        for b in 0..<256 {
            tokens.append("<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">")
            types.append(6)
        }
        let merges = ["▁ t", "h e", "▁t he", "i n", "▁ a", "in g", "▁ ▁", "\n \n", "日 本", "é t"]
        for m in merges {
            tokens.append(m.split(separator: " ").joined())
            types.append(1)
        }
        for piece in ["▁", "t", "h", "e", "i", "n", "a", "g", "\n", "日", "本", "é"] {
            tokens.append(piece)
            types.append(1)
        }
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("test")
        w.metadata["tokenizer.ggml.model"] = .string("gemma4")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, types.map { .int32($0) })
        w.metadata["tokenizer.ggml.merges"] = .array(.string, merges.map { .string($0) })
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(2)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(1)
        return try! GGUFFile(bytes: w.serialized()).metadata
    }

    /// BERT style: `▁` marks word starts, continuation pieces have no mark.
    static func wordPieceMetadata() -> GGUFMetadata {
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁the", "▁a", "▁in", "ing", "s", "▁,", "▁.",
                      "▁日", "▁cafe", "▁\u{1F600}", "t", "h", "e"]
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("test")
        w.metadata["tokenizer.ggml.model"] = .string("bert")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32, tokens.indices.map { .int32($0 < 5 ? 3 : 1) })
        w.metadata["tokenizer.ggml.unknown_token_id"] = .uint32(1)
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(2)
        w.metadata["tokenizer.ggml.seperator_token_id"] = .uint32(3)
        return try! GGUFFile(bytes: w.serialized()).metadata
    }

    /// GPT-2's byte-to-character map: printable Latin-1 bytes stand for themselves, the other
    /// bytes take code points from 256 up, in byte order.
    static func byteLevelCharacter(_ b: UInt8) -> Character {
        func printable(_ x: UInt8) -> Bool { (0x21...0x7E).contains(x) || (0xA1...0xAC).contains(x) || (0xAE...0xFF).contains(x) }
        if printable(b) { return Character(Unicode.Scalar(b)) }
        let rank = (0..<Int(b)).filter { !printable(UInt8($0)) }.count
        return Character(Unicode.Scalar(UInt32(256 + rank))!)
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
