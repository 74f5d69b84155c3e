import GGUF

/// BPE tokenization of one plain-text fragment (`tokenizer.ggml.model` = `gpt2`, or `gemma4`).
///
/// As llama.cpp does it: the pre-tokenizer cuts the text into words; within a word every byte
/// (for byte-level vocabularies) or every UTF-8 character (for raw-text ones such as Gemma 4's)
/// starts as its own symbol and the adjacent pair with the lowest merge rank is merged first
/// (ties: leftmost), until no adjacent pair has a rank. Each final symbol is then looked up as a
/// token; one that is not a token falls back to per-byte tokens.
///
/// We never build the GPT-2-mapped strings: vocabulary texts and merge halves are decoded to
/// raw bytes once at load, every distinct merge half gets a small integer id, and a merge is a
/// hash lookup on a pair of those ids that also yields the id of the merged string.
struct BPETokenizer: Sendable {
    let preTokenizer: PreTokenizer
    let settings: PreTokenizer.Settings
    /// Raw bytes → token id, for tokens whose text decodes through the byte mapping.
    let rawTable: ByteStringTable
    /// Raw bytes → merge-string id, for every string that is a half of some merge.
    let partTable: ByteStringTable
    /// `left id << 32 | right id` → (rank, id of the concatenation as a merge half or -1).
    let merges: [UInt64: SIMD2<Int32>]
    /// Per-byte fallback ids for a final symbol that is not a token, or -1 (the byte is dropped).
    /// Byte-level: the token for the byte's mapped character, which llama.cpp only finds for
    /// ASCII-mapped bytes. Raw text: the `<0xNN>` token.
    let byteFallback: [Int32]

    init(vocabulary: Vocabulary, settings: PreTokenizer.Settings, mergeList: [String]) {
        self.settings = settings
        preTokenizer = PreTokenizer(program: settings.program)
        let byteEncoded = settings.byteEncoded
        func rawBytes(_ text: String) -> [UInt8]? {
            byteEncoded ? ByteLevelEncoding.decode(text) : Array(text.utf8)
        }

        var raw = ByteStringTable(minimumCapacity: vocabulary.count)
        for (i, text) in vocabulary.tokens.enumerated() {
            if let bytes = rawBytes(text) { raw.insert(bytes, value: Int32(i)) }
        }
        rawTable = raw

        var parts = ByteStringTable(minimumCapacity: mergeList.count)
        var pairs: [(left: [UInt8], right: [UInt8])] = []
        pairs.reserveCapacity(mergeList.count)
        for merge in mergeList {
            // llama.cpp splits at the first space after the first byte; a line without one
            // becomes an empty pair that can never match.
            let utf8 = Array(merge.utf8)
            guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20) else {
                pairs.append(([], [])); continue
            }
            let left = String(decoding: utf8[..<space], as: UTF8.self)
            let right = String(decoding: utf8[(space + 1)...], as: UTF8.self)
            guard let l = rawBytes(left), let r = rawBytes(right), !l.isEmpty, !r.isEmpty else {
                pairs.append(([], [])); continue
            }
            parts.insert(l, value: Int32(parts.count))
            parts.insert(r, value: Int32(parts.count))
            pairs.append((l, r))
        }
        var merges: [UInt64: SIMD2<Int32>] = [:]
        merges.reserveCapacity(pairs.count)
        for (rank, pair) in pairs.enumerated() where !pair.left.isEmpty {
            let l = parts.lookup(pair.left), r = parts.lookup(pair.right)
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if merges[key] != nil { continue }  // the first (lowest) rank wins
            let joined = parts.lookup(pair.left + pair.right)
            merges[key] = SIMD2(Int32(rank), joined)
        }
        partTable = parts
        self.merges = merges

        var fallback = [Int32](repeating: -1, count: 256)
        if byteEncoded {
            for b in 0..<256 where ByteLevelEncoding.scalarForByte[b] < 0x80 {
                fallback[b] = raw.lookup([UInt8(b)])
            }
        } else {
            let hex = Array("0123456789ABCDEF".utf8)
            for b in 0..<256 {
                fallback[b] = vocabulary.textTable.lookup(Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")])
            }
        }
        byteFallback = fallback
    }

    private struct Symbol {
        var start: Int32
        var length: Int32
        var prev: Int32
        var next: Int32
        var part: Int32
    }

    private struct Bigram: Prioritized {
        var rank: Int32
        var left: Int32
        var right: Int32
        var size: Int32
        var joined: Int32
        @inline(__always)
        func precedes(_ other: Bigram) -> Bool {
            rank < other.rank || (rank == other.rank && left < other.left)
        }
    }

    /// Tokenizes a plain-text fragment and appends the ids to `output`.
    func tokenize(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard let base = text.baseAddress, text.count > 0 else { return }
        var symbols: [Symbol] = []
        var queue = PriorityQueue<Bigram>()
        for word in preTokenizer.split(text) {
            let wordBase = base + word.lowerBound
            let n = word.count
            if settings.ignoreMerges || (settings.program == .newlineRuns && wordBase[0] == 0x0A) {
                // Gemma 4 (llama.cpp PR 21343): a run of newlines that is a token stays whole.
                let id = rawTable.lookup(wordBase, n)
                if id >= 0 { output.append(id); continue }
            }
            symbols.removeAll(keepingCapacity: true)
            queue.removeAll()
            var offset = 0
            while offset < n {
                // Byte-level text: one symbol per byte. Raw text: one per UTF-8 character.
                let length = settings.byteEncoded ? 1 : min(UTF8Decoding.sequenceLength(lead: wordBase[offset]), n - offset)
                let index = Int32(symbols.count)
                symbols.append(Symbol(start: Int32(offset), length: Int32(length), prev: index - 1,
                                      next: offset + length == n ? -1 : index + 1,
                                      part: partTable.lookup(wordBase + offset, length)))
                offset += length
            }
            @inline(__always) func tryAdd(_ left: Int32, _ right: Int32) {
                if left < 0 || right < 0 { return }
                let l = symbols[Int(left)], r = symbols[Int(right)]
                if l.part < 0 || r.part < 0 { return }
                guard let m = merges[UInt64(UInt32(l.part)) << 32 | UInt64(UInt32(r.part))] else { return }
                queue.push(Bigram(rank: m.x, left: left, right: right, size: l.length + r.length, joined: m.y))
            }
            for i in 1..<max(symbols.count, 1) { tryAdd(Int32(i - 1), Int32(i)) }
            while let bigram = queue.pop() {
                let l = symbols[Int(bigram.left)], r = symbols[Int(bigram.right)]
                // Stale: one side was merged away, or grew since this pair was queued.
                if l.length == 0 || r.length == 0 || l.length + r.length != bigram.size { continue }
                symbols[Int(bigram.left)].length = bigram.size
                symbols[Int(bigram.left)].part = bigram.joined
                symbols[Int(bigram.right)].length = 0
                symbols[Int(bigram.left)].next = r.next
                if r.next >= 0 { symbols[Int(r.next)].prev = bigram.left }
                tryAdd(symbols[Int(bigram.left)].prev, bigram.left)
                tryAdd(bigram.left, symbols[Int(bigram.left)].next)
            }
            var i: Int32 = 0
            while i != -1 {
                let s = symbols[Int(i)]
                let id = rawTable.lookup(wordBase + Int(s.start), Int(s.length))
                if id >= 0 {
                    output.append(id)
                } else {
                    for k in 0..<Int(s.length) {
                        let t = byteFallback[Int(wordBase[Int(s.start) + k])]
                        if t >= 0 { output.append(t) }
                    }
                }
                i = s.next
            }
        }
    }
}
