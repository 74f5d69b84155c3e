/// Token-level operations on top of the byte-level matcher: checking one
/// sampled token, committing it, and filtering a candidate list or the whole
/// vocabulary by walking the vocabulary trie.
extension GrammarMatcher {
    /// Whether token `id` may be sampled now. End-of-generation ids are allowed
    /// exactly when `canEnd`.
    public func accepts(token id: Int32, vocabulary: TokenVocabulary) -> Bool {
        if vocabulary.eosTokenIDs.contains(id) { return canEnd }
        guard id >= 0 && Int(id) < vocabulary.count else { return false }
        return accepts(tokenBytes: vocabulary.tokens[Int(id)])
    }

    /// Commits token `id`. Returns false when it is not allowed (state unchanged).
    /// Accepting an end-of-generation id only checks `canEnd`.
    @discardableResult
    public func accept(token id: Int32, vocabulary: TokenVocabulary) -> Bool {
        if vocabulary.eosTokenIDs.contains(id) { return canEnd }
        guard id >= 0 && Int(id) < vocabulary.count else { return false }
        return accept(tokenBytes: vocabulary.tokens[Int(id)])
    }

    /// The subset of `candidates` (order preserved) allowed by the grammar.
    /// Large candidate lists are answered with one trie walk over the whole
    /// vocabulary; short ones are checked token by token.
    public func filter(candidates: [Int32], vocabulary: TokenVocabulary) -> [Int32] {
        if candidates.count * 32 >= vocabulary.count {
            let mask = allowedTokenMask(vocabulary: vocabulary)
            return candidates.filter { $0 >= 0 && Int($0) < mask.count && mask[Int($0)] }
        }
        return candidates.filter { accepts(token: $0, vocabulary: vocabulary) }
    }

    /// All allowed token ids, ascending.
    public func allowedTokens(vocabulary: TokenVocabulary) -> [Int32] {
        let mask = allowedTokenMask(vocabulary: vocabulary)
        var out: [Int32] = []
        for (i, ok) in mask.enumerated() where ok { out.append(Int32(i)) }
        return out
    }

    /// `mask[id]` tells whether token `id` is allowed now.
    public func allowedTokenMask(vocabulary: TokenVocabulary) -> [Bool] {
        var mask = [Bool](repeating: false, count: vocabulary.count)
        for e in vocabulary.eosTokenIDs where e >= 0 && Int(e) < mask.count { mask[Int(e)] = canEnd }
        var scratch = stacks
        scratch.reserveCapacity(1024)
        walk(vocabulary, 0, 0, scratch.count, partialValue, partialRemaining, &scratch, &mask)
        return mask
    }

    /// Visits the children of trie node `parent`. The stack set for the prefix
    /// leading to `parent` is `scratch[setStart ..< setEnd]`; children's sets are
    /// pushed above it and popped afterwards, so the walk allocates nothing per node.
    private func walk(_ v: TokenVocabulary, _ parent: Int32, _ setStart: Int, _ setEnd: Int,
                      _ pv: UInt32, _ pr: Int, _ scratch: inout [Int32], _ mask: inout [Bool]) {
        let code = grammar.code
        let classes = grammar.classes
        var c = v.firstChild[Int(parent)]
        while c >= 0 {
            let b = v.nodeByte[Int(c)]
            var npv = pv
            var npr = pr
            var complete = false
            var valid = true
            if pr > 0 {
                if b & 0xC0 == 0x80 {
                    npv = (pv << 6) | UInt32(b & 0x3F)
                    npr = pr - 1
                    complete = npr == 0
                } else {
                    valid = false
                }
            } else {
                switch b {
                case 0x00..<0x80: npv = UInt32(b); complete = true
                case 0xC2..<0xE0: npv = UInt32(b & 0x1F); npr = 1
                case 0xE0..<0xF0: npv = UInt32(b & 0x0F); npr = 2
                case 0xF0..<0xF5: npv = UInt32(b & 0x07); npr = 3
                default: valid = false
                }
            }
            if valid && complete && npv <= 0x10FFFF {
                let newStart = scratch.count
                var matched = 0
                for i in setStart..<setEnd {
                    let s = scratch[i]
                    if s < 0 { continue }
                    if classes[Int(code[Int(nodePos[Int(s)])])].contains(npv) {
                        appendSuccessors(of: s, into: &scratch)
                        matched += 1
                    }
                }
                if matched > 1 { GrammarMatcher.sortUniqueTail(&scratch, from: newStart) }
                let n = scratch.count - newStart
                if n > 0 && n <= maxStacks {
                    markTokens(v, c, &mask)
                    if v.firstChild[Int(c)] >= 0 {
                        walk(v, c, newStart, scratch.count, 0, 0, &scratch, &mask)
                    }
                }
                scratch.removeSubrange(newStart...)
            } else if valid && !complete {
                if partialCompatible(scratch, setStart..<setEnd, npv, npr) {
                    markTokens(v, c, &mask)
                    if v.firstChild[Int(c)] >= 0 {
                        walk(v, c, setStart, setEnd, npv, npr, &scratch, &mask)
                    }
                }
            }
            c = v.nextSibling[Int(c)]
        }
    }

    @inline(__always)
    private func markTokens(_ v: TokenVocabulary, _ node: Int32, _ mask: inout [Bool]) {
        let n = Int(v.tokCount[Int(node)])
        if n == 0 { return }
        let st = Int(v.tokStart[Int(node)])
        for k in st..<(st + n) { mask[Int(v.sortedIDs[k])] = true }
    }

    private func partialCompatible(_ set: [Int32], _ range: Range<Int>, _ value: UInt32, _ remaining: Int) -> Bool {
        let shift = UInt32(6 * remaining)
        let lo = value << shift
        let hi = min(lo | ((1 << shift) - 1), 0x10FFFF)
        for i in range {
            let s = set[i]
            if s < 0 { continue }
            if grammar.classes[Int(grammar.code[Int(nodePos[Int(s)])])].intersects(lo, hi) { return true }
        }
        return false
    }
}
