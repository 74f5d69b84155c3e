import GGUF

/// Text ↔ token ids for a model, built from its GGUF metadata, matching llama.cpp.
///
/// Supports the SentencePiece-style `llama` model, the byte-level BPE `gpt2` model (with the
/// pre-tokenizers in `PreTokenizer.Settings`), Gemma 4's raw-text BPE `gemma4` model and BERT's
/// WordPiece `bert` model. Build once per model: construction decodes the
/// vocabulary and builds all lookup tables; `tokenize` and `detokenize` are then read-only and
/// safe to call from any thread.
public final class Tokenizer: Sendable {
    public let vocabulary: Vocabulary

    private enum Engine: Sendable {
        case sentencePiece(SentencePieceTokenizer)
        case bytePair(BPETokenizer)
        case wordPiece(WordPieceTokenizer)
    }

    private let engine: Engine
    private let splitter: SpecialTokenSplitter
    /// Whether full detokenization removes spaces before punctuation (BPE pre-tokenizer setting).
    private let cleanSpaces: Bool
    /// Whether BPE text has spaces as `▁` and raw UTF-8 (Gemma 4) rather than GPT-2's byte alphabet.
    private let escapeWhitespace: Bool
    /// Every token's output bytes with control tokens rendered (llama.cpp's piece cache), in one
    /// buffer: token i is `pieceBytes[pieceStarts[i]..<pieceStarts[i + 1]]`.
    private let pieceBytes: [UInt8]
    private let pieceStarts: [Int32]

    /// Builds the tokenizer named by `tokenizer.ggml.model`; throws `TokenizationError` naming
    /// an unsupported model or pre-tokenizer, or a missing or malformed key.
    public convenience init(metadata: GGUFMetadata) throws {
        try self.init(vocabulary: Vocabulary(metadata: metadata), metadata: metadata)
    }

    public convenience init(file: GGUFFile) throws {
        try self.init(metadata: file.metadata)
    }

    private init(vocabulary: Vocabulary, metadata: GGUFMetadata) throws {
        self.vocabulary = vocabulary
        switch vocabulary.model {
        case .sentencePiece:
            engine = .sentencePiece(SentencePieceTokenizer(vocabulary: vocabulary))
            cleanSpaces = false
            escapeWhitespace = false
        case .bytePairEncoding, .spaceEscapedBPE:
            let settings: PreTokenizer.Settings
            if vocabulary.model == .spaceEscapedBPE {
                settings = .gemma4
            } else if let named = PreTokenizer.Settings(name: vocabulary.preTokenizerName) {
                settings = named
            } else {
                throw TokenizationError.unsupportedPreTokenizer(vocabulary.preTokenizerName ?? "")
            }
            guard metadata.contains("tokenizer.ggml.merges") else {
                throw TokenizationError.missingKey("tokenizer.ggml.merges")
            }
            guard let merges = metadata.stringArray("tokenizer.ggml.merges") else {
                throw TokenizationError.invalidMetadata(key: "tokenizer.ggml.merges", reason: "not an array of strings")
            }
            engine = .bytePair(BPETokenizer(vocabulary: vocabulary, settings: settings, mergeList: merges))
            cleanSpaces = settings.cleanSpaces
            escapeWhitespace = settings.escapeWhitespace
        case .wordPiece:
            let lowercase = metadata.bool("tokenizer.ggml.normalizer.lowercase") ?? true
            let stripAccents = metadata.bool("tokenizer.ggml.normalizer.strip_accents") ?? lowercase
            engine = .wordPiece(WordPieceTokenizer(vocabulary: vocabulary, lowercase: lowercase, stripAccents: stripAccents))
            cleanSpaces = true
            escapeWhitespace = false
        }
        splitter = SpecialTokenSplitter(vocabulary: vocabulary)
        var bytes: [UInt8] = []
        var starts: [Int32] = [0]
        starts.reserveCapacity(vocabulary.count + 1)
        for id in 0..<vocabulary.count {
            bytes.append(contentsOf: Self.renderPiece(vocabulary, Int32(id), special: true, escapedSpaces: escapeWhitespace))
            starts.append(Int32(bytes.count))
        }
        pieceBytes = bytes
        pieceStarts = starts
    }

    /// The number of tokens in the vocabulary (the model's logit count).
    public var vocabularySize: Int { vocabulary.count }

    /// Text → token ids, as `llama_tokenize(text, add_special, parse_special)`.
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS as the model's `add_bos_token`/`add_eos_token` say (WordPiece:
    ///     always [CLS] before and [SEP] after, as llama.cpp does).
    ///   - parseSpecial: turn control-token text such as `<start_of_turn>` into its id.
    ///     User-defined tokens are always matched whole, as in llama.cpp.
    public func tokenize(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int32] {
        var bytes = Array(text.utf8)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 4)
        bytes.withUnsafeMutableBufferPointer { mbuf in
            let buf = UnsafeBufferPointer(mbuf)
            let fragments = splitter.split(buf, parseSpecial: parseSpecial)
            // WordPiece always frames the text as [CLS] … [SEP] (llama.cpp ignores add_bos there).
            let isWordPiece = vocabulary.model == .wordPiece
            if addSpecial && (vocabulary.addBOS || isWordPiece), let bos = vocabulary.bos { output.append(bos) }
            switch engine {
            case let .sentencePiece(spm):
                // A leading ▁ goes before text that starts the input or follows a special token.
                var previousWasSpecial = true
                for fragment in fragments {
                    switch fragment {
                    case let .text(range):
                        let slice = UnsafeBufferPointer(rebasing: buf[range])
                        let escaped = SentencePieceTokenizer.escape(slice, prefixSpace: vocabulary.addSpacePrefix && previousWasSpecial)
                        spm.tokenize(escaped: escaped, into: &output)
                        previousWasSpecial = false
                    case let .token(id):
                        output.append(id)
                        previousWasSpecial = true
                    }
                }
            case let .bytePair(bpe):
                for fragment in fragments {
                    switch fragment {
                    case let .text(range):
                        let slice = UnsafeBufferPointer(rebasing: buf[range])
                        if escapeWhitespace {
                            SentencePieceTokenizer.escape(slice, prefixSpace: false).withUnsafeBufferPointer {
                                bpe.tokenize($0, into: &output)
                            }
                        } else {
                            bpe.tokenize(slice, into: &output)
                        }
                    case let .token(id):
                        output.append(id)
                    }
                }
            case let .wordPiece(wpm):
                for fragment in fragments {
                    switch fragment {
                    case let .text(range):
                        wpm.tokenize(UnsafeBufferPointer(rebasing: buf[range]), into: &output)
                    case let .token(id):
                        output.append(id)
                    }
                }
            }
            if isWordPiece {
                if addSpecial, let sep = vocabulary.sep { output.append(sep) }
            } else if addSpecial && vocabulary.addEOS, let eos = vocabulary.eos {
                output.append(eos)
            }
        }
        return output
    }

    /// The bytes token `id` contributes to output text, as llama.cpp's `token_to_piece`:
    /// `▁` becomes a space, `<0xNN>` becomes byte NN, byte-level text is unmapped, and control
    /// and unknown tokens give their text only when `special` is true (otherwise nothing).
    /// Out-of-range ids give no bytes.
    public func piece(_ id: Int32, special: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < vocabulary.count else { return [] }
        if !special && !vocabulary.attributes[Int(id)].intersection([.control, .unknown]).isEmpty { return [] }
        return Array(pieceBytes[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])])
    }

    /// Calls `body` with the bytes of `piece(id, special:)` without copying them (DRY scans
    /// every token's text for its sequence breakers).
    public func withPieceBytes(_ id: Int32, special: Bool = false, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard id >= 0, Int(id) < vocabulary.count,
              special || vocabulary.attributes[Int(id)].intersection([.control, .unknown]).isEmpty else {
            body(UnsafeBufferPointer(start: nil, count: 0))
            return
        }
        let start = Int(pieceStarts[Int(id)]), end = Int(pieceStarts[Int(id) + 1])
        pieceBytes.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[start..<end]))
        }
    }

    /// The piece as text for display (`cria tokenize --show-pieces`); bytes that are not valid
    /// UTF-8 on their own (a `<0xF0>` byte token) show as U+FFFD.
    public func pieceString(_ id: Int32, special: Bool = true) -> String {
        String(decoding: piece(id, special: special), as: UTF8.self)
    }

    /// `escapedSpaces`: BPE token texts use `▁` for spaces (Gemma 4), not GPT-2's byte alphabet.
    private static func renderPiece(_ v: Vocabulary, _ id: Int32, special: Bool, escapedSpaces: Bool) -> [UInt8] {
        let attr = v.attributes[Int(id)]
        let text = v.tokens[Int(id)]
        if !special && !attr.intersection([.control, .unknown]).isEmpty { return [] }
        if !attr.intersection([.control, .unknown, .userDefined]).isEmpty { return Array(text.utf8) }
        if attr.contains(.normal) {
            if v.model != .bytePairEncoding || escapedSpaces {
                // "▁" → " ".
                var out: [UInt8] = []
                let u = Array(text.utf8)
                out.reserveCapacity(u.count)
                var i = 0
                while i < u.count {
                    if i + 2 < u.count && u[i] == 0xE2 && u[i + 1] == 0x96 && u[i + 2] == 0x81 {
                        out.append(0x20); i += 3
                    } else {
                        out.append(u[i]); i += 1
                    }
                }
                return out
            }
            return ByteLevelEncoding.decodeForOutput(text)
        }
        if attr.contains(.byte) {
            // "<0xNN>"; llama.cpp reads the two hex digits at offset 3.
            let u = Array(text.utf8)
            if u.count >= 5, let value = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) { return [value] }
            return []
        }
        return []
    }

    /// Token ids → bytes, as llama.cpp's `llama_detokenize(tokens, remove_special, unparse_special)`.
    public func detokenizeBytes(_ ids: [Int32], removeSpecial: Bool = false, unparseSpecial: Bool = false) -> [UInt8] {
        var ids = ids[...]
        var removeSpace = vocabulary.addSpacePrefix
        if removeSpecial && vocabulary.addBOS, let first = ids.first, first == vocabulary.bos {
            removeSpace = false
            ids = ids.dropFirst()
        }
        if removeSpecial && vocabulary.addEOS, let last = ids.last, last == vocabulary.eos {
            ids = ids.dropLast()
        }
        var out: [UInt8] = []
        for id in ids {
            var p = piece(id, special: unparseSpecial)[...]
            if removeSpace, p.first == 0x20 { p = p.dropFirst() }
            removeSpace = false
            out.append(contentsOf: p)
        }
        if cleanSpaces { out = Self.cleanUpSpaces(out) }
        return out
    }

    /// Token ids → text; bytes that do not form valid UTF-8 become U+FFFD.
    public func detokenize(_ ids: [Int32], removeSpecial: Bool = false, unparseSpecial: Bool = false) -> String {
        String(decoding: detokenizeBytes(ids, removeSpecial: removeSpecial, unparseSpecial: unparseSpecial), as: UTF8.self)
    }

    /// Whether `id` ends generation (eos, eot, eom, and end markers such as `<end_of_turn>`).
    public func isEndOfGeneration(_ id: Int32) -> Bool { vocabulary.isEndOfGeneration(id) }

    /// A detokenizer for streamed generation that never splits a UTF-8 character.
    public func makeStreamingDetokenizer(special: Bool = false) -> StreamingDetokenizer {
        StreamingDetokenizer(tokenizer: self, special: special)
    }

    /// llama.cpp's `clean_up_tokenization_spaces`: " ?", " !", " .", " ," lose the space;
    /// " ' " loses both spaces; " 's", " 'm", " 're", " 've" lose the space.
    static func cleanUpSpaces(_ text: [UInt8]) -> [UInt8] {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "'")
        if text.isEmpty { return text }
        // Pass 1.
        var a: [UInt8] = [text[0]]
        a.reserveCapacity(text.count)
        for i in 1..<text.count {
            let x = text[i]
            if text[i - 1] == space && (x == UInt8(ascii: "?") || x == UInt8(ascii: "!") || x == UInt8(ascii: ".") || x == UInt8(ascii: ",")) {
                a.removeLast()
            }
            a.append(x)
        }
        // Pass 2: llama.cpp compares against the bytes as they are being rewritten in place.
        var b = a
        var total = 1
        var i = 1
        while i < b.count {
            let x = b[i]
            if x == quote && i + 1 < b.count && b[i - 1] == space && b[i + 1] == space {
                total -= 1
                i += 1
                b[i] = 0
            }
            b[total] = x
            total += 1
            i += 1
        }
        b.removeSubrange(total...)
        // Pass 3.
        var c: [UInt8] = [b[0]]
        c.reserveCapacity(b.count)
        if b.count > 1 {
            for i in 1..<b.count {
                let x = b[i]
                if b[i - 1] == space && x == quote && i + 1 < b.count {
                    let x1 = b[i + 1]
                    if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                        c.removeLast()
                    } else if i + 2 < b.count {
                        let x2 = b[i + 2]
                        if (x1 == UInt8(ascii: "r") && x2 == UInt8(ascii: "e")) || (x1 == UInt8(ascii: "v") && x2 == UInt8(ascii: "e")) {
                            c.removeLast()
                        }
                    }
                }
                c.append(x)
            }
        }
        return c
    }
}
