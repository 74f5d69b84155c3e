/// Splits text into the words that BPE merges within, as named by `tokenizer.ggml.pre`.
///
/// llama.cpp defines each pre-tokenizer as a list of regexes applied in turn, each one splitting
/// every piece left by the previous one; a regex match becomes a piece and so does any text
/// between matches. It runs the GPT-2, Llama-3 and Qwen regexes through hand-written matchers and
/// the rest through `std::regex` over a text where each code point is collapsed to its category.
/// We implement every step by hand over Unicode scalars with the same category flags, which is
/// exact for these patterns and needs no regex engine.
struct PreTokenizer: Sendable {
    /// The regex programs we implement.
    enum Program: Sendable, Equatable {
        /// llama.cpp's fallback: `[\p{P}\$\+<=>\^~\|]+`, the GPT-2 regex, `\p{N}+`, `[0-9][0-9][0-9]`.
        case llamaDefault
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        case llama3
        /// As `llama3` but with single digits: `\p{N}` instead of `\p{N}{1,3}`.
        case qwen2
        /// As `qwen2` but letter runs take combining marks along: `[\p{L}\p{M}]+`, and the
        /// punctuation run excludes them: ` ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*`.
        case qwen35
        /// `\p{N}` (every digit alone), then the GPT-2 regex.
        case starcoder
        /// `[\p{P}\$\+<=>\^~\|`]+`, the GPT-2 regex, `[0-9][0-9][0-9]`.
        case falcon
        /// `[\r\n]`, `\s?\p{L}+`, `\s?\p{P}+`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}`.
        case deepseekCoder
        /// `[\r\n]`, `\s?[letters of cased scripts]+`, `\s?[!-/:-~！-／：-～‘-‟　-。]+`, `\s+$`,
        /// `[一-龥ࠀ-一가-퟿]+`, `\p{N}+`.
        case deepseekLLM
        /// `[^\n]+|[\n]+`: runs of newlines and runs of anything else (Gemma 4, which merges
        /// over whole lines of `▁`-escaped text).
        case newlineRuns
    }

    /// Everything `tokenizer.ggml.pre` decides, per llama.cpp's loader.
    struct Settings: Sendable, Equatable {
        var program: Program
        /// Whether detokenization removes spaces before punctuation (`clean_up_tokenization_spaces`).
        var cleanSpaces: Bool = true
        /// Whether a whole word that is already a token skips merging.
        var ignoreMerges: Bool = false
        /// The default for `add_bos_token` when the file does not say.
        var addBOS: Bool = false
        /// Whether token texts and merges use GPT-2's byte-to-unicode alphabet. When false they are
        /// raw UTF-8, merging starts from characters, and bytes fall back to `<0xNN>` tokens.
        var byteEncoded: Bool = true
        /// Whether spaces become `▁` before splitting (and `▁` a space again in output).
        var escapeWhitespace: Bool = false

        init(program: Program, cleanSpaces: Bool = true, ignoreMerges: Bool = false, addBOS: Bool = false,
             byteEncoded: Bool = true, escapeWhitespace: Bool = false) {
            self.program = program
            self.cleanSpaces = cleanSpaces
            self.ignoreMerges = ignoreMerges
            self.addBOS = addBOS
            self.byteEncoded = byteEncoded
            self.escapeWhitespace = escapeWhitespace
        }

        /// nil for a name we do not implement. A missing name means llama.cpp's default.
        init?(name: String?) {
            guard let name, !name.isEmpty else { self.init(program: .llamaDefault); return }
            guard let settings = Self.byName[name] else { return nil }
            self = settings
        }

        /// The pre-tokenizer Gemma 4's `gemma4` tokenizer model always uses, whatever
        /// `tokenizer.ggml.pre` says.
        static let gemma4 = Settings(program: .newlineRuns, byteEncoded: false, escapeWhitespace: true)

        /// Every `tokenizer.ggml.pre` value we implement, with llama.cpp's settings for it.
        static let byName: [String: Settings] = {
            var table: [String: Settings] = [:]
            func add(_ names: [String], _ settings: Settings) { for n in names { table[n] = settings } }
            add(["default"], Settings(program: .llamaDefault))
            add(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"],
                Settings(program: .llama3, ignoreMerges: true, addBOS: true))
            add(["dbrx", "smaug-bpe"], Settings(program: .llama3))
            add(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open"],
                Settings(program: .qwen2, cleanSpaces: false))
            add(["megrez", "stablelm2"], Settings(program: .qwen2))
            add(["qwen35"], Settings(program: .qwen35, cleanSpaces: false))
            add(["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
                 "modern-bert", "exaone4", "mpt", "olmo", "jais", "jina-v1-en", "jina-v2-code", "roberta-bpe"],
                Settings(program: .gpt2))
            add(["trillion", "granite-docling"], Settings(program: .gpt2, cleanSpaces: false))
            add(["starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"], Settings(program: .starcoder))
            add(["command-r", "smollm"], Settings(program: .starcoder, cleanSpaces: false))
            add(["falcon"], Settings(program: .falcon))
            add(["deepseek-coder"], Settings(program: .deepseekCoder, cleanSpaces: false))
            add(["deepseek-llm"], Settings(program: .deepseekLLM, cleanSpaces: false))
            add(["gemma4", "granite-embed-multi-311m"], gemma4)
            return table
        }()
    }

    /// The `tokenizer.ggml.pre` values we implement, sorted (for error messages).
    static var supportedNames: [String] { Settings.byName.keys.sorted() }

    let program: Program

    init(program: Program) { self.program = program }

    /// Splits valid UTF-8 `bytes` into words; returns the words' byte ranges in order, covering
    /// the input exactly.
    func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        let (cpts, byteStarts) = UTF8Decoding.decode(bytes)
        let flags = cpts.map { CodepointFlags.of($0) }

        var pieces = [cpts.count]
        switch program {
        case .llamaDefault:
            pieces = Self.splitRuns(flags, cpts, pieces) { f, c in
                f.isPunctuation && !f.isWhitespace
                    || c == 0x24 || c == 0x2B || c == 0x3C || c == 0x3D || c == 0x3E || c == 0x5E || c == 0x7E || c == 0x7C
            }
            pieces = Self.splitGPT2(flags, cpts, pieces)
            pieces = Self.splitRuns(flags, cpts, pieces) { f, _ in f.isNumber && !f.isWhitespace }
            pieces = Self.splitASCIIDigitTriples(cpts, pieces)
        case .gpt2:
            pieces = Self.splitGPT2(flags, cpts, pieces)
        case .llama3:
            pieces = Self.splitLlama3(flags, cpts, pieces, maxDigits: 3)
        case .qwen2:
            pieces = Self.splitLlama3(flags, cpts, pieces, maxDigits: 1)
        case .qwen35:
            pieces = Self.splitLlama3(flags, cpts, pieces, maxDigits: 1, marksJoinLetters: true)
        case .starcoder:
            pieces = Self.splitSingles(flags, pieces) { $0.isNumber && !$0.isWhitespace }
            pieces = Self.splitGPT2(flags, cpts, pieces)
        case .falcon:
            pieces = Self.splitRuns(flags, cpts, pieces) { f, c in
                f.isPunctuation && !f.isWhitespace
                    || c == 0x24 || c == 0x2B || c == 0x3C || c == 0x3D || c == 0x3E || c == 0x5E || c == 0x7E || c == 0x7C
                    || c == 0x60
            }
            pieces = Self.splitGPT2(flags, cpts, pieces)
            pieces = Self.splitASCIIDigitTriples(cpts, pieces)
        case .deepseekCoder:
            pieces = Self.splitSingles(cpts, pieces) { $0 == 0x0D || $0 == 0x0A }
            pieces = Self.splitSpaceThenRun(flags, cpts, pieces) { f, _ in f.isLetter }
            pieces = Self.splitSpaceThenRun(flags, cpts, pieces) { f, _ in f.isPunctuation }
            pieces = Self.splitRuns(flags, cpts, pieces) { _, c in Self.isDeepSeekCJK(c) }
            pieces = Self.splitSingles(flags, pieces) { $0.isNumber && !$0.isWhitespace }
        case .deepseekLLM:
            // The letter and punctuation classes list code points, so llama.cpp matches them on
            // the text itself, where every non-ASCII white space reads as U+000B first.
            pieces = Self.splitSingles(cpts, pieces) { $0 == 0x0D || $0 == 0x0A }
            pieces = Self.splitSpaceThenRun(flags, cpts, pieces) { f, c in
                !(c > 0x7F && f.isWhitespace) && Self.inRanges(c, Self.deepSeekLLMLetters)
            }
            pieces = Self.splitSpaceThenRun(flags, cpts, pieces) { f, c in
                !(c > 0x7F && f.isWhitespace) && Self.inRanges(c, Self.deepSeekLLMPunctuation)
            }
            pieces = Self.splitTrailingWhitespace(flags, pieces)
            pieces = Self.splitRuns(flags, cpts, pieces) { _, c in Self.isDeepSeekCJK(c) }
            pieces = Self.splitRuns(flags, cpts, pieces) { f, _ in f.isNumber && !f.isWhitespace }
        case .newlineRuns:
            pieces = Self.splitLines(cpts, pieces)
        }

        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(pieces.count)
        var start = 0
        for len in pieces where len > 0 {
            ranges.append(byteStarts[start]..<byteStarts[start + len])
            start += len
        }
        return ranges
    }

    // MARK: - Character classes spelled out as code point ranges in llama.cpp's regexes.

    /// `[一-龥ࠀ-一가-퟿]`: CJK ideographs U+4E00–U+9FA5, U+0800–U+4E00 and Hangul U+AC00–U+D7FF.
    static func isDeepSeekCJK(_ c: UInt32) -> Bool {
        (0x0800...0x9FA5).contains(c) || (0xAC00...0xD7FF).contains(c)
    }

    /// DeepSeek LLM's letter class `[A-Za-zµÀ-ÖØ-öø-ƺ…𞤀-𞥃]`: letters of the cased scripts
    /// (Latin, Greek, Coptic, Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Deseret, Osage,
    /// Old Hungarian, Warang Citi, Adlam, letterlike symbols, full-width Latin), as closed ranges.
    static let deepSeekLLMLetters: [ClosedRange<UInt32>] = [
        0x0041...0x005A, 0x0061...0x007A, 0x00B5...0x00B5, 0x00C0...0x00D6, 0x00D8...0x00F6, 0x00F8...0x01BA,
        0x01BC...0x01BF, 0x01C4...0x0293, 0x0295...0x02AF, 0x0370...0x0373, 0x0376...0x0377, 0x037B...0x037D,
        0x037F...0x037F, 0x0386...0x0386, 0x0388...0x038A, 0x038C...0x038C, 0x038E...0x03A1, 0x03A3...0x03F5,
        0x03F7...0x0481, 0x048A...0x052F, 0x0531...0x0556, 0x10A0...0x10C5, 0x13A0...0x13F5, 0x13F8...0x13FD,
        0x1C90...0x1CBA, 0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77, 0x1D79...0x1D9A, 0x1E00...0x1F15,
        0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57, 0x1F59...0x1F59, 0x1F5B...0x1F5B,
        0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4, 0x1FB6...0x1FBC, 0x1FBE...0x1FBE, 0x1FC2...0x1FC4,
        0x1FC6...0x1FCC, 0x1FD0...0x1FD3, 0x1FD6...0x1FDB, 0x1FE0...0x1FEC, 0x1FF2...0x1FF4, 0x1FF6...0x1FFC,
        0x2102...0x2102, 0x2107...0x2107, 0x210A...0x2113, 0x2115...0x2115, 0x2119...0x211D, 0x2124...0x2124,
        0x2126...0x2126, 0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134, 0x2139...0x2139, 0x213C...0x213F,
        0x2145...0x2149, 0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B, 0x2C7E...0x2CE4, 0x2CEB...0x2CEE,
        0x2CF2...0x2CF3, 0xA640...0xA66D, 0xA680...0xA69B, 0xA722...0xA76F, 0xA771...0xA787, 0xA78B...0xA78E,
        0xAB70...0xABBF, 0xFB00...0xFB06, 0xFB13...0xFB17, 0xFF21...0xFF3A, 0xFF41...0xFF5A, 0x10400...0x1044F,
        0x104B0...0x104D3, 0x104D8...0x104FB, 0x10C80...0x10CB2, 0x10CC0...0x10CF2, 0x118A0...0x118DF,
        0x1E900...0x1E943,
    ]

    /// DeepSeek LLM's punctuation class `[!-/:-~！-／：-～‘-‟　-。]`: ASCII punctuation and symbols
    /// except the digits, their full-width forms, curly quotes, and U+3000–U+3002.
    static let deepSeekLLMPunctuation: [ClosedRange<UInt32>] = [
        0x0021...0x002F, 0x003A...0x007E, 0xFF01...0xFF0F, 0xFF1A...0xFF5E, 0x2018...0x201F, 0x3000...0x3002,
    ]

    static func inRanges(_ c: UInt32, _ ranges: [ClosedRange<UInt32>]) -> Bool {
        for r in ranges where r.contains(c) { return true }
        return false
    }

    // MARK: - Splitting steps. Each takes and returns piece lengths in code points.

    private static let outOfRange: UInt32 = 0xFFFF_FFFF

    /// A regex `[class]+`: maximal runs inside the class are pieces, and so are the gaps.
    static func splitRuns(_ flags: [CodepointFlags], _ cpts: [UInt32], _ pieces: [Int],
                          _ inClass: (CodepointFlags, UInt32) -> Bool) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(pieces.count * 2)
        var start = 0
        for len in pieces {
            let end = start + len
            var runStart = start
            var pos = start
            while pos < end {
                let member = inClass(flags[pos], cpts[pos])
                var next = pos + 1
                while next < end && inClass(flags[next], cpts[next]) == member { next += 1 }
                out.append(next - runStart)
                runStart = next
                pos = next
            }
            start = end
        }
        return out
    }

    /// A regex `[class]` (one code point, judged by its flags or its value): each member alone;
    /// the gaps between are pieces.
    static func splitSingles<Item>(_ items: [Item], _ pieces: [Int], _ inClass: (Item) -> Bool) -> [Int] {
        var out: [Int] = []
        var start = 0
        for len in pieces {
            let end = start + len
            var gapStart = start
            for pos in start..<end where inClass(items[pos]) {
                if pos > gapStart { out.append(pos - gapStart) }
                out.append(1)
                gapStart = pos + 1
            }
            if end > gapStart { out.append(end - gapStart) }
            start = end
        }
        return out
    }

    /// A regex `\s?[class]+`: a run of class members, with the one white-space code point just
    /// before it when there is one; the gaps are pieces.
    static func splitSpaceThenRun(_ flags: [CodepointFlags], _ cpts: [UInt32], _ pieces: [Int],
                                  _ inClass: (CodepointFlags, UInt32) -> Bool) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(pieces.count * 2)
        var start = 0
        for len in pieces {
            let end = start + len
            var gapStart = start
            var pos = start
            while pos < end {
                var runStart = pos
                if flags[pos].isWhitespace && pos + 1 < end && inClass(flags[pos + 1], cpts[pos + 1]) {
                    runStart = pos + 1
                } else if !inClass(flags[pos], cpts[pos]) {
                    pos += 1
                    continue
                }
                var runEnd = runStart + 1
                while runEnd < end && inClass(flags[runEnd], cpts[runEnd]) { runEnd += 1 }
                if pos > gapStart { out.append(pos - gapStart) }
                out.append(runEnd - pos)
                pos = runEnd
                gapStart = runEnd
            }
            if end > gapStart { out.append(end - gapStart) }
            start = end
        }
        return out
    }

    /// A regex `\s+$`: the white space that ends a piece becomes a piece of its own.
    static func splitTrailingWhitespace(_ flags: [CodepointFlags], _ pieces: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(pieces.count * 2)
        var start = 0
        for len in pieces {
            let end = start + len
            var tail = end
            while tail > start && flags[tail - 1].isWhitespace { tail -= 1 }
            if tail > start { out.append(tail - start) }
            if end > tail { out.append(end - tail) }
            start = end
        }
        return out
    }

    /// `[^\n]+|[\n]+`: alternating runs of newlines and of everything else.
    static func splitLines(_ cpts: [UInt32], _ pieces: [Int]) -> [Int] {
        var out: [Int] = []
        var start = 0
        for len in pieces {
            let end = start + len
            var pos = start
            while pos < end {
                let newline = cpts[pos] == 0x0A
                let runStart = pos
                while pos < end && (cpts[pos] == 0x0A) == newline { pos += 1 }
                out.append(pos - runStart)
            }
            start = end
        }
        return out
    }

    /// `[0-9][0-9][0-9]`: leftmost non-overlapping triples of ASCII digits; the rest are gaps.
    static func splitASCIIDigitTriples(_ cpts: [UInt32], _ pieces: [Int]) -> [Int] {
        @inline(__always) func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
        var out: [Int] = []
        out.reserveCapacity(pieces.count)
        var start = 0
        for len in pieces {
            let end = start + len
            var gapStart = start
            var pos = start
            while pos < end {
                if pos + 2 < end && isDigit(cpts[pos]) && isDigit(cpts[pos + 1]) && isDigit(cpts[pos + 2]) {
                    if pos > gapStart { out.append(pos - gapStart) }
                    out.append(3)
                    pos += 3
                    gapStart = pos
                } else {
                    pos += 1
                }
            }
            if end > gapStart { out.append(end - gapStart) }
            start = end
        }
        return out
    }

    /// The GPT-2 regex, with llama.cpp's matcher semantics: at each position the first
    /// alternative that matches wins, and a code point no alternative takes stands alone.
    static func splitGPT2(_ flags: [CodepointFlags], _ cpts: [UInt32], _ pieces: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(cpts.count / 3 + pieces.count)
        var start = 0
        for len in pieces {
            let ini = start, end = start + len
            start = end
            @inline(__always) func cpt(_ p: Int) -> UInt32 { p >= ini && p < end ? cpts[p] : outOfRange }
            @inline(__always) func fl(_ p: Int) -> CodepointFlags { p >= ini && p < end ? flags[p] : .outOfRange }
            var pos = ini
            var prevEnd = ini
            @inline(__always) func emit(_ e: Int) {
                if e > prevEnd { out.append(e - prevEnd) }
                prevEnd = e
            }
            while pos < end {
                let c = cpt(pos)
                let f = fl(pos)
                // 's|'t|'re|'ve|'m|'ll|'d
                if c == 0x27 && pos + 1 < end {
                    let c1 = cpt(pos + 1)
                    if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 {
                        pos += 2; emit(pos); continue
                    }
                    if pos + 2 < end {
                        let c2 = cpt(pos + 2)
                        if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) {
                            pos += 3; emit(pos); continue
                        }
                    }
                }
                var f2 = c == 0x20 ? fl(pos + 1) : f
                //  ?\p{L}+
                if f2.isLetter {
                    if c == 0x20 { pos += 1 }
                    while f2.isLetter { pos += 1; f2 = fl(pos) }
                    emit(pos); continue
                }
                //  ?\p{N}+
                if f2.isNumber {
                    if c == 0x20 { pos += 1 }
                    while f2.isNumber { pos += 1; f2 = fl(pos) }
                    emit(pos); continue
                }
                //  ?[^\s\p{L}\p{N}]+
                if !f2.isWhitespace && !f2.isLetter && !f2.isNumber && f2.isInRange {
                    if c == 0x20 { pos += 1 }
                    while !f2.isWhitespace && !f2.isLetter && !f2.isNumber && f2.isInRange { pos += 1; f2 = fl(pos) }
                    emit(pos); continue
                }
                var spaces = 0
                while fl(pos + spaces).isWhitespace { spaces += 1 }
                // \s+(?!\S): a run of spaces before a non-space gives its last space to that word.
                if spaces > 1 && cpt(pos + spaces) != outOfRange {
                    pos += spaces - 1; emit(pos); continue
                }
                // \s+
                if spaces > 0 { pos += spaces; emit(pos); continue }
                pos += 1; emit(pos)
            }
        }
        return out
    }

    /// The Llama-3 regex family (Llama 3 with up to three digits per piece, Qwen 2 with one;
    /// Qwen 3.5 also with `marksJoinLetters`), with llama.cpp's matcher semantics.
    static func splitLlama3(_ flags: [CodepointFlags], _ cpts: [UInt32], _ pieces: [Int], maxDigits: Int,
                            marksJoinLetters: Bool = false) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(cpts.count / 3 + pieces.count)
        var start = 0
        @inline(__always) func lower(_ c: UInt32) -> UInt32 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
        // `\p{L}` in the letter run (`[\p{L}\p{M}]` for Qwen 3.5), and what the punctuation run excludes.
        @inline(__always) func wordLike(_ f: CodepointFlags) -> Bool { f.isLetter || (marksJoinLetters && f.isMark) }
        for len in pieces {
            let ini = start, end = start + len
            start = end
            @inline(__always) func cpt(_ p: Int) -> UInt32 { p >= ini && p < end ? cpts[p] : outOfRange }
            @inline(__always) func fl(_ p: Int) -> CodepointFlags { p >= ini && p < end ? flags[p] : .outOfRange }
            var pos = ini
            var prevEnd = ini
            @inline(__always) func emit(_ e: Int) {
                if e > prevEnd { out.append(e - prevEnd) }
                prevEnd = e
            }
            while pos < end {
                let c = cpt(pos)
                let f = fl(pos)
                // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                if c == 0x27 && pos + 1 < end {
                    let c1 = lower(cpt(pos + 1))
                    if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 {
                        pos += 2; emit(pos); continue
                    }
                    if pos + 2 < end {
                        let c2 = lower(cpt(pos + 2))
                        if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) {
                            pos += 3; emit(pos); continue
                        }
                    }
                }
                // [^\r\n\p{L}\p{N}]?\p{L}+  (Qwen 3.5: [^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+)
                if !(c == 0x0D || c == 0x0A || f.isNumber) {
                    if wordLike(f) || wordLike(fl(pos + 1)) {
                        pos += 1
                        while wordLike(fl(pos)) { pos += 1 }
                        emit(pos); continue
                    }
                }
                // \p{N}{1,maxDigits}
                if f.isNumber {
                    var groupStart = pos
                    while fl(pos).isNumber {
                        pos += 1
                        if pos - groupStart >= maxDigits { emit(pos); groupStart = pos }
                    }
                    emit(pos); continue
                }
                //  ?[^\s\p{L}\p{N}]+[\r\n]*  (Qwen 3.5: also not \p{M})
                var f2 = c == 0x20 ? fl(pos + 1) : f
                if !f2.isWhitespace && !wordLike(f2) && !f2.isNumber && f.isInRange {
                    if c == 0x20 { pos += 1 }
                    while !f2.isWhitespace && !wordLike(f2) && !f2.isNumber && f2.isInRange { pos += 1; f2 = fl(pos) }
                    while cpt(pos) == 0x0D || cpt(pos) == 0x0A { pos += 1 }
                    emit(pos); continue
                }
                var spaces = 0
                var afterLastNewline = 0
                while fl(pos + spaces).isWhitespace {
                    let c2 = cpt(pos + spaces)
                    if c2 == 0x0D || c2 == 0x0A { afterLastNewline = pos + spaces + 1 }
                    spaces += 1
                }
                // \s*[\r\n]+
                if afterLastNewline > 0 { pos = afterLastNewline; emit(pos); continue }
                // \s+(?!\S)
                if spaces > 1 && cpt(pos + spaces) != outOfRange { pos += spaces - 1; emit(pos); continue }
                // \s+
                if spaces > 0 { pos += spaces; emit(pos); continue }
                pos += 1; emit(pos)
            }
        }
        return out
    }
}
