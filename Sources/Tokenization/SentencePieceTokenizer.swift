/// SentencePiece-style tokenization of one plain-text fragment (`tokenizer.ggml.model` = `llama`).
///
/// As llama.cpp does it: spaces become `▁` (U+2581), the text starts as one symbol per UTF-8
/// character, and the adjacent pair whose concatenation is the highest-scoring token is merged
/// first (ties: leftmost), until no adjacent pair forms a token. Symbols that are not tokens at
/// the end fall back to one `<0xNN>` token per byte.
struct SentencePieceTokenizer: Sendable {
    let vocabulary: Vocabulary
    /// `<0xNN>` token id (or a token whose text is that single byte) for every byte, or -1.
    let byteTokens: [Int32]

    init(vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        var byteTokens = [Int32](repeating: -1, count: 256)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in 0..<256 {
            let name: [UInt8] = [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"), hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
            var id = vocabulary.textTable.lookup(name)
            if id < 0 && b < 0x80 { id = vocabulary.textTable.lookup([UInt8(b)]) }
            // llama.cpp aborts on a byte with no token; we fall back to <unk> when there is one.
            if id < 0, let unk = vocabulary.unk { id = unk }
            byteTokens[b] = id
        }
        self.byteTokens = byteTokens
    }

    private struct Symbol {
        var start: Int32
        var length: Int32
        var prev: Int32
        var next: Int32
    }

    private struct Bigram: Prioritized {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32
        @inline(__always)
        func precedes(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Escapes spaces as `▁`, optionally with a leading `▁` (llama.cpp's `add_space_prefix`).
    static func escape(_ bytes: UnsafeBufferPointer<UInt8>, prefixSpace: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 4 + 3)
        if prefixSpace { out.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for b in bytes {
            if b == 0x20 { out.append(contentsOf: [0xE2, 0x96, 0x81]) } else { out.append(b) }
        }
        return out
    }

    /// Tokenizes already-escaped text and appends the ids to `output`.
    func tokenize(escaped text: [UInt8], into output: inout [Int32]) {
        if text.isEmpty { return }
        text.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            let n = buf.count
            var symbols: [Symbol] = []
            symbols.reserveCapacity(n)
            var offset = 0
            while offset < n {
                let lead = buf[offset]
                var len = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
                len = min(len, n - offset)
                let index = Int32(symbols.count)
                symbols.append(Symbol(start: Int32(offset), length: Int32(len), prev: index - 1,
                                      next: offset + len == n ? -1 : index + 1))
                offset += len
            }

            let table = vocabulary.textTable
            let scores = vocabulary.scores
            var queue = PriorityQueue<Bigram>()
            @inline(__always) func tryAdd(_ left: Int32, _ right: Int32) {
                if left < 0 || right < 0 { return }
                let l = symbols[Int(left)], r = symbols[Int(right)]
                let size = Int(l.length + r.length)
                let id = table.lookup(base + Int(l.start), size)
                if id < 0 { return }
                queue.push(Bigram(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
            }
            for i in 1..<max(symbols.count, 1) { tryAdd(Int32(i - 1), Int32(i)) }

            while let bigram = queue.pop() {
                let l = symbols[Int(bigram.left)], r = symbols[Int(bigram.right)]
                // Stale: one side was merged away, or grew since this pair was queued.
                if l.length == 0 || r.length == 0 || l.length + r.length != bigram.size { continue }
                symbols[Int(bigram.left)].length = bigram.size
                symbols[Int(bigram.right)].length = 0
                symbols[Int(bigram.left)].next = r.next
                if r.next >= 0 { symbols[Int(r.next)].prev = bigram.left }
                tryAdd(symbols[Int(bigram.left)].prev, bigram.left)
                tryAdd(bigram.left, symbols[Int(bigram.left)].next)
            }

            // Every merged symbol is a token (a pair is only queued when it is one), so only
            // single characters missing from the vocabulary reach the byte fallback.
            var i: Int32 = 0
            while i != -1 {
                let s = symbols[Int(i)]
                let id = table.lookup(base + Int(s.start), Int(s.length))
                if id >= 0 {
                    output.append(id)
                } else {
                    for k in 0..<Int(s.length) {
                        let t = byteTokens[Int(buf[Int(s.start) + k])]
                        if t >= 0 { output.append(t) }
                    }
                }
                i = s.next
            }
        }
    }
}
