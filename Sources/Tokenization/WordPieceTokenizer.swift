/// BERT-style WordPiece tokenization of one plain-text fragment (`tokenizer.ggml.model` = `bert`).
///
/// As llama.cpp does it: the text is normalized and cut into words (whitespace separates words;
/// each punctuation mark, ASCII symbol and CJK ideograph is a word of its own; control
/// characters are dropped; with the normalizer options, letters are lowercased and accents
/// stripped after a one-code-point NFD). Each word, prefixed with `▁`, is then covered left to
/// right by the longest vocabulary tokens; a word that cannot be covered becomes `[UNK]`.
///
/// GGUF stores BERT vocabularies with `▁` marking word starts (HF's `##` continuation prefix
/// removed), which is why a word is looked up with `▁` in front and its pieces without.
struct WordPieceTokenizer: Sendable {
    let vocabulary: Vocabulary
    /// `tokenizer.ggml.normalizer.lowercase` (default true).
    let lowercase: Bool
    /// `tokenizer.ggml.normalizer.strip_accents` (default: as `lowercase`).
    let stripAccents: Bool

    /// `▁` in UTF-8.
    private static let wordStart: [UInt8] = [0xE2, 0x96, 0x81]

    /// Tokenizes a plain-text fragment and appends the ids to `output`.
    func tokenize(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        for word in words(text) {
            let start = output.count
            if !cover(Self.wordStart + word, into: &output) {
                output.removeSubrange(start...)
            }
            if output.count == start, let unk = vocabulary.unk { output.append(unk) }
        }
    }

    /// Greedy longest-match: from each position, the longest token that starts there. Returns
    /// false when some position starts no token (the caller then drops the whole word).
    private func cover(_ word: [UInt8], into output: inout [Int32]) -> Bool {
        let table = vocabulary.textTable
        let n = word.count
        return word.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            var i = 0
            while i < n {
                var end = min(n, i + vocabulary.maxTokenBytes)
                var found: Int32 = -1
                while end > i {
                    found = table.lookup(base + i, end - i)
                    if found >= 0 { break }
                    end -= 1
                }
                if found < 0 { return false }
                output.append(found)
                i = end
            }
            return true
        }
    }

    /// The normalized words of `text`, as UTF-8.
    func words(_ text: UnsafeBufferPointer<UInt8>) -> [[UInt8]] {
        var words: [[UInt8]] = []
        var current: [UInt8] = []
        func finishWord() {
            if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
        }
        for original in UTF8Decoding.decode(text).codepoints {
            let cpt = stripAccents ? CodepointMapping.firstOfDecomposition(original) : original
            let flags = CodepointFlags.of(cpt)
            if flags.isWhitespace { finishWord(); continue }
            if cpt == 0 || cpt == 0xFFFD || flags.isControl { continue }
            if stripAccents && flags.isMark { continue }
            let mapped = lowercase ? CodepointMapping.lowercase(cpt) : cpt
            if flags.isPunctuation || (cpt < 0x7F && flags.isSymbol) || Self.isCJKIdeograph(cpt) {
                finishWord()
                UTF8Decoding.append(mapped, to: &current)
                finishWord()
            } else {
                UTF8Decoding.append(mapped, to: &current)
            }
        }
        finishWord()
        return words
    }

    /// The CJK ideograph blocks BERT's tokenizer isolates (with HF's 0x2B920 start for the
    /// Extension E range, which llama.cpp keeps for compatibility).
    static func isCJKIdeograph(_ cpt: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(cpt) || (0x3400...0x4DBF).contains(cpt)
            || (0x20000...0x2A6DF).contains(cpt) || (0x2A700...0x2B73F).contains(cpt)
            || (0x2B740...0x2B81F).contains(cpt) || (0x2B920...0x2CEAF).contains(cpt)
            || (0xF900...0xFAFF).contains(cpt) || (0x2F800...0x2FA1F).contains(cpt)
    }
}
