import GGUF

/// A model's token vocabulary as stored in GGUF metadata: token texts, scores, types, the special
/// token ids and the flags that say when to add them.
///
/// Loading follows llama.cpp's `llama_vocab::load` so that every derived fact (default special
/// ids per tokenizer family, `<end_of_turn>`-style EOT detection, the end-of-generation set,
/// "unused" marking) is the one llama.cpp would use; tokenization results depend on them.
public final class Vocabulary: Sendable {
    /// The tokenizer family, from `tokenizer.ggml.model`.
    public enum Model: String, Sendable {
        /// SentencePiece-style: scores, `▁` for spaces, `<0xNN>` byte fallback (`llama`).
        case sentencePiece = "llama"
        /// Byte-level BPE with merges and a regex pre-tokenizer (`gpt2`).
        case bytePairEncoding = "gpt2"
        /// BPE merges over raw UTF-8 text with `▁` for spaces and `<0xNN>` byte tokens, split only
        /// at newlines (`gemma4`; llama.cpp treats it as BPE with the `gemma4` pre-tokenizer).
        case spaceEscapedBPE = "gemma4"
        /// BERT WordPiece: normalized words covered by longest-match tokens (`bert`).
        case wordPiece = "bert"
    }

    /// `tokenizer.ggml.token_type` values.
    public enum TokenType: Int32, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// Token attributes as llama.cpp derives them: a type can gain flags at load time (a token
    /// detected as EOT becomes control; a control token named "unused" becomes unused too).
    public struct Attributes: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let unknown = Attributes(rawValue: 1 << 0)
        public static let unused = Attributes(rawValue: 1 << 1)
        public static let normal = Attributes(rawValue: 1 << 2)
        public static let control = Attributes(rawValue: 1 << 3)
        public static let userDefined = Attributes(rawValue: 1 << 4)
        public static let byte = Attributes(rawValue: 1 << 5)
    }

    public let model: Model
    /// `tokenizer.ggml.pre`, when present.
    public let preTokenizerName: String?
    /// Token texts exactly as stored (SentencePiece pieces use `▁`; byte-level BPE uses the
    /// GPT-2 byte-to-unicode alphabet).
    public let tokens: [String]
    public let scores: [Float]
    public let types: [TokenType]
    public let attributes: [Attributes]

    public let bos: Int32?
    public let eos: Int32?
    public let eot: Int32?
    public let eom: Int32?
    public let unk: Int32?
    public let sep: Int32?
    public let pad: Int32?
    public let mask: Int32?
    /// The newline token: `<0x0A>` for SentencePiece, the tokenization of "\n" for BPE.
    public let nl: Int32?
    public let fimPrefix: Int32?
    public let fimSuffix: Int32?
    public let fimMiddle: Int32?
    public let fimPad: Int32?
    public let fimRepo: Int32?
    public let fimSeparator: Int32?

    public let addBOS: Bool
    public let addEOS: Bool
    public let addSpacePrefix: Bool
    /// Tokens that end generation: eos, eot, eom, and the well-known end markers found by text.
    public let endOfGeneration: Set<Int32>

    /// Token text bytes (as stored) → id. Built once; used by SentencePiece merging.
    let textTable: ByteStringTable
    /// The longest token text in bytes.
    let maxTokenBytes: Int

    public var count: Int { tokens.count }

    public convenience init(metadata: GGUFMetadata) throws {
        guard let modelName = metadata.string("tokenizer.ggml.model") else {
            throw TokenizationError.missingKey("tokenizer.ggml.model")
        }
        guard let model = Model(rawValue: modelName) else { throw TokenizationError.unsupportedModel(modelName) }
        guard metadata.contains("tokenizer.ggml.tokens") else {
            throw TokenizationError.missingKey("tokenizer.ggml.tokens")
        }
        guard let tokens = metadata.stringArray("tokenizer.ggml.tokens") else {
            throw TokenizationError.invalidMetadata(key: "tokenizer.ggml.tokens", reason: "not an array of strings")
        }
        var scores = [Float](repeating: 0, count: tokens.count)
        if metadata.contains("tokenizer.ggml.scores") {
            guard let s = metadata.floatArray("tokenizer.ggml.scores"), s.count >= tokens.count else {
                throw TokenizationError.invalidMetadata(key: "tokenizer.ggml.scores", reason: "not a numeric array as long as the token list")
            }
            scores = Array(s.prefix(tokens.count))
        }
        var types = [TokenType](repeating: .normal, count: tokens.count)
        if metadata.contains("tokenizer.ggml.token_type") {
            guard let t = metadata.intArray("tokenizer.ggml.token_type"), t.count >= tokens.count else {
                throw TokenizationError.invalidMetadata(key: "tokenizer.ggml.token_type", reason: "not an integer array as long as the token list")
            }
            for i in 0..<tokens.count { types[i] = TokenType(rawValue: Int32(truncatingIfNeeded: t[i])) ?? .undefined }
        }
        try self.init(model: model, preTokenizerName: metadata.string("tokenizer.ggml.pre"),
                      tokens: tokens, scores: scores, types: types, metadata: metadata)
    }

    private init(model: Model, preTokenizerName: String?, tokens rawTokens: [String], scores: [Float],
                 types: [TokenType], metadata: GGUFMetadata) throws {
        self.model = model
        self.preTokenizerName = preTokenizerName
        let n = rawTokens.count

        // An empty token text would make an empty hash key and break matching; llama.cpp renames.
        var tokens = rawTokens
        for i in 0..<n where tokens[i].isEmpty { tokens[i] = "[EMPTY_\(i)]" }
        self.tokens = tokens
        self.scores = scores
        self.types = types

        var table = ByteStringTable(minimumCapacity: n)
        var maxLen = 0
        for i in 0..<n {
            var text = tokens[i]
            text.withUTF8 { buf in
                table.insert(buf.baseAddress!, buf.count, value: Int32(i))
                maxLen = max(maxLen, buf.count)
            }
        }
        textTable = table
        maxTokenBytes = maxLen

        var attrs = types.map { type -> Attributes in
            switch type {
            case .normal: return .normal
            case .unknown: return .unknown
            case .control: return .control
            case .userDefined: return .userDefined
            case .unused: return .unused
            case .byte: return .byte
            case .undefined: return []
            }
        }

        func validID(_ id: Int32?) -> Int32? {
            guard let id, id >= 0, Int(id) < n else { return nil }
            return id
        }
        func lookupText(_ s: String) -> Int32? {
            let id = table.lookup(Array(s.utf8))
            return id >= 0 ? id : nil
        }

        // Family defaults, then what the file says (an out-of-range id in the file is ignored,
        // as llama.cpp does, keeping the default).
        var bos: Int32?, eos: Int32?, unk: Int32?, sep: Int32?, pad: Int32?, mask: Int32?
        var addBOS: Bool, addEOS = false, addSpacePrefix: Bool
        switch model {
        case .sentencePiece:
            bos = 1; eos = 2; unk = 0
            addBOS = true; addSpacePrefix = true
        case .bytePairEncoding:
            bos = 11; eos = 11; unk = nil
            addSpacePrefix = false
            addBOS = PreTokenizer.Settings(name: preTokenizerName)?.addBOS ?? false
        case .spaceEscapedBPE:
            addSpacePrefix = false
            addBOS = false
        case .wordPiece:
            bos = 101; unk = 100; sep = 102; pad = 0; mask = 103
            addBOS = true; addSpacePrefix = false
        }
        bos = validID(bos); eos = validID(eos); unk = validID(unk)
        sep = validID(sep); pad = validID(pad); mask = validID(mask)
        func special(_ key: String, _ current: Int32?) -> Int32? {
            guard let v = metadata.int(key) else { return current }
            guard v >= 0, v < n else { return current }
            return Int32(v)
        }
        bos = special("tokenizer.ggml.bos_token_id", bos)
        eos = special("tokenizer.ggml.eos_token_id", eos)
        var eot = special("tokenizer.ggml.eot_token_id", nil)
        var eom = special("tokenizer.ggml.eom_token_id", nil)
        unk = special("tokenizer.ggml.unknown_token_id", unk)
        self.sep = special("tokenizer.ggml.seperator_token_id", sep)
        self.pad = special("tokenizer.ggml.padding_token_id", pad)
        self.mask = special("tokenizer.ggml.mask_token_id", mask)
        // The deprecated prefix/suffix/middle keys are read after the fim_* ones in llama.cpp,
        // so when a file has both, the deprecated key wins.
        var fimPre = special("tokenizer.ggml.prefix_token_id", special("tokenizer.ggml.fim_pre_token_id", nil))
        var fimSuf = special("tokenizer.ggml.suffix_token_id", special("tokenizer.ggml.fim_suf_token_id", nil))
        var fimMid = special("tokenizer.ggml.middle_token_id", special("tokenizer.ggml.fim_mid_token_id", nil))
        var fimPad = special("tokenizer.ggml.fim_pad_token_id", nil)
        var fimRep = special("tokenizer.ggml.fim_rep_token_id", nil)
        var fimSep = special("tokenizer.ggml.fim_sep_token_id", nil)

        if let v = metadata.bool("tokenizer.ggml.add_space_prefix") { addSpacePrefix = v }
        if let v = metadata.bool("tokenizer.ggml.add_bos_token") { addBOS = v }
        if let v = metadata.bool("tokenizer.ggml.add_eos_token") { addEOS = v }
        // llama.cpp always adds BOS with the Gemma 4 pre-tokenizer, whatever the file says.
        if model == .spaceEscapedBPE
            || (model == .bytePairEncoding && PreTokenizer.Settings(name: preTokenizerName)?.program == .newlineRuns) {
            addBOS = true
        }
        if addBOS && bos == nil {
            throw TokenizationError.invalidMetadata(key: "tokenizer.ggml.add_bos_token", reason: "true, but no BOS token id")
        }
        if addEOS && eos == nil {
            throw TokenizationError.invalidMetadata(key: "tokenizer.ggml.add_eos_token", reason: "true, but no EOS token id")
        }

        // Special tokens found by their text when the file does not name them. llama.cpp walks
        // a hash map, so with several candidates its pick is arbitrary; we take the first
        // candidate in the list order below, which is deterministic.
        func detect(_ candidates: [String]) -> Int32? {
            for c in candidates { if let id = lookupText(c) { return id } }
            return nil
        }
        func forceControl(_ id: Int32?) {
            if let id { attrs[Int(id)].insert(.control) }
        }
        if eot == nil {
            eot = detect(["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                          "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"])
            forceControl(eot)
        }
        if eom == nil { eom = detect(["<|eom_id|>"]); forceControl(eom) }
        if fimPre == nil {
            fimPre = detect(["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>"])
            forceControl(fimPre)
        }
        if fimSuf == nil {
            fimSuf = detect(["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>"])
            forceControl(fimSuf)
        }
        if fimMid == nil {
            fimMid = detect(["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>"])
            forceControl(fimMid)
        }
        if fimPad == nil { fimPad = detect(["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"]); forceControl(fimPad) }
        if fimRep == nil { fimRep = detect(["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]); forceControl(fimRep) }
        if fimSep == nil { fimSep = detect(["<|file_sep|>"]); forceControl(fimSep) }

        // Control tokens whose text says "unused" are unused (e.g. Gemma's <unused0>).
        for i in 0..<n where attrs[i].contains(.control) && tokens[i].contains("unused") {
            attrs[i].insert(.unused)
        }

        var eog = Set<Int32>()
        for id in [fimPad, fimRep, fimSep] { if let id { eog.insert(id) } }
        let eogTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
                        "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"]
        for text in eogTexts {
            if let id = lookupText(text) { eog.insert(id); attrs[Int(id)].insert(.control) }
        }
        for id in [eos, eot, eom] { if let id { eog.insert(id) } }
        // gpt-oss style: with <|return|> and <|call|> present, <|end|> only ends a message.
        if let r = lookupText("<|return|>"), let c = lookupText("<|call|>"), let e = lookupText("<|end|>"),
           eog.contains(r), eog.contains(c), eog.contains(e) {
            eog.remove(e)
            attrs[Int(e)] = .userDefined
        }
        // gpt-oss's Harmony markers are always written out (as llama.cpp does), so a reply's
        // channels, recipients and message boundaries reach the chat-output parser as text.
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let id = lookupText(text) { attrs[Int(id)] = .userDefined }
        }

        self.bos = bos; self.eos = eos; self.eot = eot; self.eom = eom; self.unk = unk
        self.fimPrefix = fimPre; self.fimSuffix = fimSuf; self.fimMiddle = fimMid
        self.fimPad = fimPad; self.fimRepo = fimRep; self.fimSeparator = fimSep
        self.addBOS = addBOS; self.addEOS = addEOS; self.addSpacePrefix = addSpacePrefix
        self.endOfGeneration = eog
        self.attributes = attrs

        switch model {
        case .sentencePiece:
            let byteToken = table.lookup(Array("<0x0A>".utf8))
            if byteToken >= 0 { nl = byteToken } else {
                let plain = table.lookup([UInt8(ascii: "\n")])
                nl = plain >= 0 ? plain : self.pad
            }
        case .bytePairEncoding:
            // llama.cpp tokenizes "\n": a user-defined "\n" token is split out first, otherwise
            // the byte-level pre-tokenizer yields "Ċ" (the GPT-2 alphabet's newline).
            let raw = table.lookup([UInt8(ascii: "\n")])
            let mapped = table.lookup(Array("Ċ".utf8))
            if raw >= 0 && attrs[Int(raw)].contains(.userDefined) { nl = raw }
            else if mapped >= 0 { nl = mapped }
            else { nl = self.pad }
        case .spaceEscapedBPE:
            // Raw text: "\n" tokenizes to the "\n" token when there is one.
            let raw = table.lookup([UInt8(ascii: "\n")])
            nl = raw >= 0 ? raw : self.pad
        case .wordPiece:
            nl = self.pad
        }
    }

    /// The id whose stored text is exactly `text`, if any.
    public func id(forText text: String) -> Int32? {
        let id = textTable.lookup(Array(text.utf8))
        return id >= 0 ? id : nil
    }

    public func isControl(_ id: Int32) -> Bool { attributes[Int(id)].contains(.control) }
    public func isUserDefined(_ id: Int32) -> Bool { attributes[Int(id)].contains(.userDefined) }
    public func isByte(_ id: Int32) -> Bool { attributes[Int(id)].contains(.byte) }
    public func isUnknown(_ id: Int32) -> Bool { attributes[Int(id)].contains(.unknown) }
    public func isUnused(_ id: Int32) -> Bool { attributes[Int(id)].contains(.unused) }
    public func isNormal(_ id: Int32) -> Bool { attributes[Int(id)].contains(.normal) }

    /// Whether `id` ends generation (eos, eot, eom or another end marker).
    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGeneration.contains(id) }

    /// Ids of the tokens that the special-token splitter looks for in raw text, longest text
    /// first: control, user-defined and unknown tokens.
    func specialTokensLongestFirst() -> [Int32] {
        var ids: [Int32] = []
        for i in 0..<count where !attributes[i].intersection([.control, .userDefined, .unknown]).isEmpty {
            ids.append(Int32(i))
        }
        var lengths = [Int](repeating: 0, count: count)
        for id in ids { lengths[Int(id)] = tokens[Int(id)].utf8.count }
        // llama.cpp uses an unstable sort by length; ties can only matter for equal-length
        // tokens that overlap in the text, and we break them by id to be deterministic.
        ids.sort { a, b in
            let la = lengths[Int(a)], lb = lengths[Int(b)]
            return la != lb ? la > lb : a < b
        }
        return ids
    }
}
