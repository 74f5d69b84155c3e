/// Splits text into the words that byte-level BPE merges within, as named by `tokenizer.ggml.pre`.
///
/// llama.cpp defines each pre-tokenizer as a list of regexes applied in turn, each one splitting
/// every piece left by the previous one; a regex match becomes a piece and so does any text
/// between matches. It runs the GPT-2 and Llama-3 regexes through hand-written matchers and the
/// rest through `std::regex` over a text where each code point is collapsed to its category.
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
        /// `\p{N}` (every digit alone), then the GPT-2 regex.
        case starcoder
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

        init(program: Program, cleanSpaces: Bool = true, ignoreMerges: Bool = false, addBOS: Bool = false) {
            self.program = program
            self.cleanSpaces = cleanSpaces
            self.ignoreMerges = ignoreMerges
            self.addBOS = addBOS
        }

        /// nil for a name we do not implement. A missing name means llama.cpp's default.
        init?(name: String?) {
            guard let name, !name.isEmpty else { self.init(program: .llamaDefault); return }
            switch name {
            case "default":
                self.init(program: .llamaDefault)
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
                self.init(program: .llama3, ignoreMerges: true, addBOS: true)
            case "dbrx", "smaug-bpe":
                self.init(program: .llama3)
            case "qwen2", "deepseek-r1-qwen", "kormo", "hunyuan", "solar-open":
                self.init(program: .qwen2, cleanSpaces: false)
            case "megrez", "stablelm2":
                self.init(program: .qwen2)
            case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
                 "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "jina-v1-en", "jina-v2-code", "roberta-bpe":
                self.init(program: .gpt2)
            case "trillion", "granite-docling":
                self.init(program: .gpt2, cleanSpaces: false)
            case "starcoder", "refact", "codeshell", "exaone", "minerva-7b":
                self.init(program: .starcoder)
            case "command-r", "smollm":
                self.init(program: .starcoder, cleanSpaces: false)
            default:
                return nil
            }
        }
    }

    static let supportedNames = [
        "default", "llama3", "llama-v3", "llama-bpe", "dbrx", "smaug-bpe", "qwen2", "deepseek-r1-qwen",
        "stablelm2", "megrez", "gpt-2", "phi-2", "mpt", "olmo", "starcoder", "refact", "command-r", "smollm",
    ]

    let program: Program

    init(program: Program) { self.program = program }

    /// Splits valid UTF-8 `bytes` into words; returns the words' byte ranges in order, covering
    /// the input exactly.
    func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        // Decode to code points, remembering where each starts in the bytes.
        var cpts: [UInt32] = []
        var byteStarts: [Int] = []
        cpts.reserveCapacity(bytes.count)
        byteStarts.reserveCapacity(bytes.count + 1)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            var len = 1
            var c = b0
            if b0 >= 0xF0 { len = 4; c = b0 & 0x07 } else if b0 >= 0xE0 { len = 3; c = b0 & 0x0F }
            else if b0 >= 0xC0 { len = 2; c = b0 & 0x1F }
            len = min(len, n - i)
            if len > 1 { for k in 1..<len { c = (c << 6) | (UInt32(bytes[i + k]) & 0x3F) } }
            byteStarts.append(i)
            cpts.append(c)
            i += len
        }
        byteStarts.append(n)
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
        case .starcoder:
            pieces = Self.splitSingles(flags, pieces) { $0.isNumber && !$0.isWhitespace }
            pieces = Self.splitGPT2(flags, cpts, pieces)
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

    /// A regex `[class]` (one code point): each member alone; the gaps between are pieces.
    static func splitSingles(_ flags: [CodepointFlags], _ pieces: [Int], _ inClass: (CodepointFlags) -> Bool) -> [Int] {
        var out: [Int] = []
        var start = 0
        for len in pieces {
            let end = start + len
            var gapStart = start
            for pos in start..<end where inClass(flags[pos]) {
                if pos > gapStart { out.append(pos - gapStart) }
                out.append(1)
                gapStart = pos + 1
            }
            if end > gapStart { out.append(end - gapStart) }
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

    /// The Llama-3 regex family (Llama 3 with up to three digits per piece, Qwen 2 with one),
    /// with llama.cpp's matcher semantics.
    static func splitLlama3(_ flags: [CodepointFlags], _ cpts: [UInt32], _ pieces: [Int], maxDigits: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(cpts.count / 3 + pieces.count)
        var start = 0
        @inline(__always) func lower(_ c: UInt32) -> UInt32 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
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
                // [^\r\n\p{L}\p{N}]?\p{L}+
                if !(c == 0x0D || c == 0x0A || f.isNumber) {
                    if f.isLetter || fl(pos + 1).isLetter {
                        pos += 1
                        while fl(pos).isLetter { pos += 1 }
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
                //  ?[^\s\p{L}\p{N}]+[\r\n]*
                var f2 = c == 0x20 ? fl(pos + 1) : f
                if !f2.isWhitespace && !f2.isLetter && !f2.isNumber && f.isInRange {
                    if c == 0x20 { pos += 1 }
                    while !f2.isWhitespace && !f2.isLetter && !f2.isNumber && f2.isInRange { pos += 1; f2 = fl(pos) }
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
