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
    /// - Throws: `.workLimitExceeded` when a check ran out of `maxWorkPerStep`.
    public func filter(candidates: [Int32], vocabulary: TokenVocabulary) throws(GrammarError) -> [Int32] {
        if candidates.count * 32 >= vocabulary.count {
            let mask = try allowedTokenMask(vocabulary: vocabulary)
            return candidates.filter { $0 >= 0 && Int($0) < mask.count && mask[Int($0)] }
        }
        let allowed = candidates.filter { accepts(token: $0, vocabulary: vocabulary) }
        if workLimitExceeded { throw workLimitError() }
        return allowed
    }

    /// All allowed token ids, ascending.
    /// - Throws: `.workLimitExceeded` as `allowedTokenMask`.
    public func allowedTokens(vocabulary: TokenVocabulary) throws(GrammarError) -> [Int32] {
        let mask = try allowedTokenMask(vocabulary: vocabulary)
        var out: [Int32] = []
        for (i, ok) in mask.enumerated() where ok { out.append(Int32(i)) }
        return out
    }

    /// `mask[id]` tells whether token `id` is allowed now.
    /// - Throws: `GrammarError` of kind `.workLimitExceeded` when the grammar is
    ///   too ambiguous to decide within `maxWorkPerStep` (the mask would be
    ///   incomplete); the matcher then refuses everything until `reset()`.
    public func allowedTokenMask(vocabulary: TokenVocabulary) throws(GrammarError) -> [Bool] {
        if workLimitExceeded { throw workLimitError() }
        work = 0
        var mask = [Bool](repeating: false, count: vocabulary.count)
        for e in vocabulary.eosTokenIDs where e >= 0 && Int(e) < mask.count { mask[Int(e)] = canEnd }
        // Bound the cache over long generations, by sets and by the stack ids
        // they hold (a set may hold up to `maxStacks` of them).
        if setCache.count > 50_000 || setCache.storedIDs > 4_000_000 { setCache.clear() }
        work &+= stacks.count
        let start = setCache.intern(stacks)
        mask.withUnsafeMutableBufferPointer { m in
            vocabulary.nodeByte.withUnsafeBufferPointer { bytes in
                vocabulary.firstChild.withUnsafeBufferPointer { first in
                    vocabulary.nextSibling.withUnsafeBufferPointer { next in
                        vocabulary.tokStart.withUnsafeBufferPointer { ts in
                            vocabulary.tokCount.withUnsafeBufferPointer { tc in
                                vocabulary.sortedIDs.withUnsafeBufferPointer { ids in
                                    let trie = TrieView(byte: bytes.baseAddress!, firstChild: first.baseAddress!, nextSibling: next.baseAddress!,
                                                        tokStart: ts.baseAddress!, tokCount: tc.baseAddress!, sortedIDs: ids.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                                    walk(vocabulary, trie, 0, start, partialValue, partialRemaining, m)
                                }
                            }
                        }
                    }
                }
            }
        }
        if workLimitExceeded { throw workLimitError() }
        return mask
    }

    /// The error a budget overrun reports (see `workLimitExceeded`).
    public func workLimitError() -> GrammarError {
        GrammarError(kind: .workLimitExceeded, line: 0, column: 0,
                     message: "the grammar is too ambiguous: deciding the next token took more than \(maxWorkPerStep) steps "
                              + "(nested optional repetitions multiply the ways a text can be parsed)")
    }

    struct TrieView {
        let byte: UnsafePointer<UInt8>
        let firstChild: UnsafePointer<Int32>
        let nextSibling: UnsafePointer<Int32>
        let tokStart: UnsafePointer<Int32>
        let tokCount: UnsafePointer<Int32>
        let sortedIDs: UnsafePointer<Int32>
    }

    /// Next stack-set id after consuming `cp` from set `set`; -1 when rejected.
    @inline(__always)
    private func transition(_ set: Int32, _ cp: UInt32) -> Int32 {
        if cp < 128 {
            let slot = setCache.ascii + Int(set) * 128 + Int(cp)
            let t = slot.pointee
            if t != StackSetCache.unknown { return t }
            let r = computeTransition(set, cp)
            // An interrupted computation's answer is not known; reset() clears the cache anyway.
            if workLimitExceeded { return r }
            // Re-read the base pointer: computing may have grown the table.
            (setCache.ascii + Int(set) * 128 + Int(cp)).pointee = r
            return r
        }
        if let t = setCache.cachedOther(set, cp) { return t }
        let r = computeTransition(set, cp)
        if workLimitExceeded { return r }
        setCache.storeOther(set, cp, r)
        return r
    }

    /// The successor of `set` shared by all non-ASCII code points, `rejected`
    /// when none is accepted, or `mixed` when it depends on the code point.
    @inline(__always)
    private func nonASCIITransition(_ set: Int32) -> Int32 {
        let cached = setCache.nonASCII[Int(set)]
        return cached != StackSetCache.unknown ? cached : computeNonASCIITransition(set)
    }

    // Out of line so the optimizer cannot hoist its accesses (and their
    // exclusivity checks) into the walk's per-node loop.
    @inline(never)
    private func computeNonASCIITransition(_ set: Int32) -> Int32 {
        var uniform = true
        for s in setCache.sets[Int(set)] where s >= 0 {
            let cls = grammar.classes[Int(grammar.code[Int(nodePos[Int(s)])])]
            if !cls.covers(0x80, 0x10FFFF) && cls.intersects(0x80, 0x10FFFF) { uniform = false; break }
        }
        // Uniform: each stack takes all non-ASCII code points or none, so U+0080 speaks for all.
        let r = uniform ? computeTransition(set, 0x80) : StackSetCache.mixed
        if workLimitExceeded { return r }
        setCache.nonASCII[Int(set)] = r
        return r
    }

    @inline(never)
    private func computeTransition(_ set: Int32, _ cp: UInt32) -> Int32 {
        var out: [Int32] = []
        advance(setCache.sets[Int(set)], cp, into: &out)
        if out.isEmpty || out.count > maxStacks || workLimitExceeded { return StackSetCache.rejected }
        work &+= out.count
        return setCache.intern(out)
    }

    private func partialOK(_ set: Int32, _ value: UInt32, _ remaining: Int) -> Bool {
        if let ok = setCache.cachedPartial(set, value, remaining) { return ok }
        let ok = partialCompatible(setCache.sets[Int(set)], value, remaining)
        setCache.storePartial(set, value, remaining, ok)
        return ok
    }

    /// Visits the children of trie node `parent`, reached with stack set `set`
    /// and a pending partial character (`pv`, `pr`). A child whose byte cannot
    /// continue is skipped with its whole subtree.
    private func walk(_ v: TokenVocabulary, _ trie: TrieView, _ parent: Int32, _ set: Int32,
                      _ pv: UInt32, _ pr: Int, _ mask: UnsafeMutableBufferPointer<Bool>) {
        var c = trie.firstChild[Int(parent)]
        while c >= 0 && !workLimitExceeded {
            let b = trie.byte[Int(c)]
            if pr == 0 && b < 0x80 {
                let t = transition(set, UInt32(b))
                if t >= 0 {
                    markTokens(trie, c, mask)
                    if trie.firstChild[Int(c)] >= 0 { walk(v, trie, c, t, 0, 0, mask) }
                }
            } else {
                // Every multi-byte character is non-ASCII: when the set treats those alike,
                // one cached answer replaces the per-code-point lookups.
                let uniform = nonASCIITransition(set)
                switch pr == 0 ? UTF8Partial.start(b) : UTF8Partial.next(pv, pr, b) {
                case .complete(let cp):
                    let t = uniform != StackSetCache.mixed ? uniform : transition(set, cp)
                    if t >= 0 {
                        markTokens(trie, c, mask)
                        if trie.firstChild[Int(c)] >= 0 { walk(v, trie, c, t, 0, 0, mask) }
                    }
                case .pending(let npv, let npr):
                    if uniform != StackSetCache.mixed ? uniform >= 0 : partialOK(set, npv, npr) {
                        markTokens(trie, c, mask)
                        if trie.firstChild[Int(c)] >= 0 { walk(v, trie, c, set, npv, npr, mask) }
                    }
                case .invalid:
                    break
                }
            }
            c = trie.nextSibling[Int(c)]
        }
    }

    @inline(__always)
    private func markTokens(_ trie: TrieView, _ node: Int32, _ mask: UnsafeMutableBufferPointer<Bool>) {
        let n = Int(trie.tokCount[Int(node)])
        if n == 0 { return }
        let st = Int(trie.tokStart[Int(node)])
        for k in st..<(st + n) { mask[Int(trie.sortedIDs[k])] = true }
    }
}
