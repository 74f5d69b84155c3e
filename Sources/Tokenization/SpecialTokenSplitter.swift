/// Cuts raw text into plain-text fragments and special tokens before the model tokenizer runs.
///
/// llama.cpp (`tokenizer_st_partition`) takes the control, user-defined and unknown tokens,
/// longest text first, and for each one in turn replaces every occurrence it finds (left to
/// right, non-overlapping) in the still-unclaimed text by that token. User-defined tokens are
/// always split out; control and unknown ones only when `parseSpecial` is on. Because a longer
/// token claims text before a shorter one looks, "<start_of_turn>" wins over "<" and a run of
/// eight spaces over two of four.
///
/// Scanning once per special token would cost (number of special tokens × text length): Gemma
/// has 6,400 of them. Instead we find every occurrence of every special token in one pass with a
/// byte trie, then grant them in the same priority order; an occurrence is granted when all of
/// its bytes are still unclaimed, which is exactly when llama.cpp's per-token search would find it.
struct SpecialTokenSplitter: Sendable {
    enum Fragment: Equatable, Sendable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Terminal: Sendable {
        var token: Int32
        var priority: Int32
        var length: Int32
        var alwaysSplit: Bool
    }

    /// Trie edges keyed by `node << 8 | byte`.
    private let edges: [UInt32: Int32]
    /// For each node, the index into `terminals` of the token ending there, or -1.
    private let terminalAt: [Int32]
    private let terminals: [Terminal]
    /// Bytes that start some special token; lets the scan skip most positions with one load.
    private let startsToken: [Bool]

    init(vocabulary: Vocabulary) {
        var edges: [UInt32: Int32] = [:]
        var terminalAt: [Int32] = [-1]
        var terminals: [Terminal] = []
        var startsToken = [Bool](repeating: false, count: 256)
        for (priority, id) in vocabulary.specialTokensLongestFirst().enumerated() {
            let bytes = Array(vocabulary.tokens[Int(id)].utf8)
            guard !bytes.isEmpty else { continue }
            startsToken[Int(bytes[0])] = true
            var node: Int32 = 0
            for b in bytes {
                let key = UInt32(node) << 8 | UInt32(b)
                if let child = edges[key] {
                    node = child
                } else {
                    let child = Int32(terminalAt.count)
                    terminalAt.append(-1)
                    edges[key] = child
                    node = child
                }
            }
            if terminalAt[Int(node)] < 0 {
                terminalAt[Int(node)] = Int32(terminals.count)
                terminals.append(Terminal(token: id, priority: Int32(priority), length: Int32(bytes.count),
                                          alwaysSplit: vocabulary.attributes[Int(id)].intersection([.control, .unknown]).isEmpty))
            }
        }
        self.edges = edges
        self.terminalAt = terminalAt
        self.terminals = terminals
        self.startsToken = startsToken
    }

    /// Splits `bytes` into fragments in text order.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let n = bytes.count
        if n == 0 { return [] }
        // Every occurrence of every eligible special token: (priority, start, terminal index).
        var found: [(priority: Int32, start: Int32, terminal: Int32)] = []
        for start in 0..<n where startsToken[Int(bytes[start])] {
            var node: Int32 = 0
            var pos = start
            while pos < n, let child = edges[UInt32(node) << 8 | UInt32(bytes[pos])] {
                node = child
                pos += 1
                let t = terminalAt[Int(node)]
                if t >= 0 && (parseSpecial || terminals[Int(t)].alwaysSplit) {
                    found.append((terminals[Int(t)].priority, Int32(start), t))
                }
            }
        }
        if found.isEmpty { return [.text(0..<n)] }
        found.sort { $0.priority != $1.priority ? $0.priority < $1.priority : $0.start < $1.start }

        var claimed = [Bool](repeating: false, count: n)
        var granted: [(start: Int, length: Int, token: Int32)] = []
        for occurrence in found {
            let t = terminals[Int(occurrence.terminal)]
            let s = Int(occurrence.start), e = s + Int(t.length)
            var free = true
            for i in s..<e where claimed[i] { free = false; break }
            if !free { continue }
            for i in s..<e { claimed[i] = true }
            granted.append((s, Int(t.length), t.token))
        }
        granted.sort { $0.start < $1.start }

        var fragments: [Fragment] = []
        var cursor = 0
        for g in granted {
            if g.start > cursor { fragments.append(.text(cursor..<g.start)) }
            fragments.append(.token(g.token))
            cursor = g.start + g.length
        }
        if cursor < n { fragments.append(.text(cursor..<n)) }
        return fragments
    }
}
