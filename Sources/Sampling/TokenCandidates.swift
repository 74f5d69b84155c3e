import Foundation

/// One candidate token: its id, its (possibly modified) logit and, once computed, its probability.
public struct TokenData: Sendable, Equatable {
    public var id: Int32
    public var logit: Float
    public var p: Float

    public init(id: Int32, logit: Float, p: Float = 0) {
        self.id = id
        self.logit = logit
        self.p = p
    }
}

/// The working set of candidate tokens that samplers narrow down, with buffers allocated once
/// for the whole vocabulary and reused for every token.
///
/// It has two representations:
/// - *dense*: every vocabulary token is a candidate, its logit stored at `denseLogits[id]`. This is
///   the state right after loading logits; logit bias, penalties and grammar masks edit it in place,
///   and top-k / min-p select straight out of it without building a 262k-entry list.
/// - *list*: `count` explicit `TokenData` entries (optionally sorted by descending logit).
/// Samplers without a dense fast path call `materialize()` to switch to the list.
public final class TokenCandidates: @unchecked Sendable {
    /// Number of tokens in the vocabulary; buffers are sized to it.
    public let vocabularySize: Int

    let denseLogits: UnsafeMutablePointer<Float>
    var storage: UnsafeMutablePointer<TokenData>
    var scratch: UnsafeMutablePointer<TokenData>
    let floatScratch: UnsafeMutablePointer<Float>

    /// Number of live candidates (equal to `vocabularySize` while dense).
    public internal(set) var count: Int
    /// True while candidates are all vocabulary tokens, stored densely.
    public internal(set) var isDense: Bool
    /// Length of the prefix of the list known to hold the largest logits in descending order.
    public internal(set) var sortedPrefix: Int
    /// True when every entry's `p` holds the softmax of the current logits over the live list.
    public internal(set) var hasProbabilities: Bool
    /// Index (into the list) of the token chosen by a selecting sampler, if any.
    public var selectedIndex: Int?

    /// True when the whole list is sorted by descending logit.
    public var isSorted: Bool { !isDense && sortedPrefix >= count }

    public init(vocabularySize: Int) {
        precondition(vocabularySize > 0, "vocabulary must not be empty")
        self.vocabularySize = vocabularySize
        denseLogits = .allocate(capacity: vocabularySize)
        storage = .allocate(capacity: vocabularySize)
        scratch = .allocate(capacity: vocabularySize)
        floatScratch = .allocate(capacity: vocabularySize)
        denseLogits.initialize(repeating: 0, count: vocabularySize)
        storage.initialize(repeating: TokenData(id: 0, logit: 0), count: vocabularySize)
        scratch.initialize(repeating: TokenData(id: 0, logit: 0), count: vocabularySize)
        floatScratch.initialize(repeating: 0, count: vocabularySize)
        count = vocabularySize
        isDense = true
        sortedPrefix = 0
        hasProbabilities = false
    }

    deinit {
        denseLogits.deallocate()
        storage.deallocate()
        scratch.deallocate()
        floatScratch.deallocate()
    }

    // MARK: Loading

    /// Starts a new step: every token is a candidate with the given logits (dense state).
    public func load(logits: UnsafeBufferPointer<Float>) {
        precondition(logits.count == vocabularySize, "logits must have vocabulary size")
        denseLogits.update(from: logits.baseAddress!, count: vocabularySize)
        count = vocabularySize
        isDense = true
        sortedPrefix = 0
        hasProbabilities = false
        selectedIndex = nil
    }

    /// Replaces the candidates by an explicit list (used by tests and custom callers).
    public func load(list: [TokenData]) {
        precondition(list.count <= vocabularySize && !list.isEmpty)
        for (i, t) in list.enumerated() { storage[i] = t }
        count = list.count
        isDense = false
        sortedPrefix = 0
        hasProbabilities = false
        selectedIndex = nil
    }

    /// Dense logits for editing in place (only valid while `isDense`).
    public var dense: UnsafeMutableBufferPointer<Float> {
        precondition(isDense)
        return UnsafeMutableBufferPointer(start: denseLogits, count: vocabularySize)
    }

    /// Converts the dense state into an explicit list of all vocabulary tokens (no-op for lists).
    public func materialize() {
        guard isDense else { return }
        for i in 0..<vocabularySize {
            storage[i] = TokenData(id: Int32(truncatingIfNeeded: i), logit: denseLogits[i], p: 0)
        }
        count = vocabularySize
        isDense = false
        sortedPrefix = 0
        hasProbabilities = false
    }

    /// The live candidate list (materializes first).
    public var tokens: UnsafeMutableBufferPointer<TokenData> {
        materialize()
        return UnsafeMutableBufferPointer(start: storage, count: count)
    }

    /// Candidate `i` of the list.
    public subscript(i: Int) -> TokenData {
        precondition(!isDense && i < count)
        return storage[i]
    }

    /// Adds `delta` to one token's logit (`-inf` bans it). O(1) dense, O(count) as a list.
    public func adjustLogit(of token: Int32, by delta: Float) {
        let t = Int(token)
        guard t >= 0 && t < vocabularySize else { return }
        if isDense {
            denseLogits[t] += delta
        } else {
            for i in 0..<count where storage[i].id == token {
                storage[i].logit += delta
                sortedPrefix = 0
                hasProbabilities = false
            }
        }
    }

    /// Marks logits as changed (invalidates probabilities; order is kept if `orderPreserved`).
    public func logitsChanged(orderPreserved: Bool) {
        hasProbabilities = false
        if !orderPreserved { sortedPrefix = 0 }
    }

    /// Keeps only the first `n` list entries.
    public func truncate(to n: Int) {
        materialize()
        let n = max(0, min(n, count))
        if n != count { hasProbabilities = false }
        count = n
        sortedPrefix = min(sortedPrefix, n)
    }

    // MARK: Softmax and ordering

    /// Largest logit among the live candidates.
    public func maxLogit() -> Float {
        if isDense { return FastMath.maximum(denseLogits, vocabularySize) }
        if sortedPrefix > 0 { return storage[0].logit }
        var m = -Float.infinity
        for i in 0..<count where storage[i].logit > m { m = storage[i].logit }
        return m
    }

    /// p_i = exp(l_i - max) / Σ_j exp(l_j - max) over the list (materializes; does not sort).
    public func softmax() {
        materialize()
        if hasProbabilities || count == 0 { return }
        let m = maxLogit()
        if m == -.infinity || m.isNaN {
            // Everything is banned: fall back to a uniform distribution rather than NaNs.
            let u = 1 / Float(count)
            for i in 0..<count { storage[i].p = u }
            hasProbabilities = true
            return
        }
        var sum: Double = 0
        for i in 0..<count {
            let e = FastMath.exp(storage[i].logit - m)
            storage[i].p = e
            sum += Double(e)
        }
        let inv = Float(1 / sum)
        for i in 0..<count { storage[i].p *= inv }
        hasProbabilities = true
    }

    /// Sorts the whole list by descending logit.
    public func sortDescending() {
        ensureSortedPrefix(count)
    }

    /// Guarantees the first `n` entries are the `n` largest logits in descending order, using
    /// quickselect + sorting the prefix (O(count + n log n)) instead of a full sort.
    public func ensureSortedPrefix(_ n: Int) {
        materialize()
        let n = min(n, count)
        if n <= sortedPrefix { return }
        // The first `sortedPrefix` entries already are the largest, in order: only the rest moves.
        let done = sortedPrefix
        if n < count {
            Sorting.selectLargest(storage + done, count: count - done, k: n - done)
        }
        Sorting.sortDescendingByLogit(storage + done, count: n - done)
        sortedPrefix = n
        if n == count { sortedPrefix = count }
    }

    /// Index of the largest logit (dense or list).
    public func argmax() -> Int {
        if isDense { return FastMath.argmax(denseLogits, vocabularySize) }
        if sortedPrefix > 0 { return 0 }
        var best = 0
        for i in 1..<max(count, 1) where storage[i].logit > storage[best].logit { best = i }
        return best
    }

    /// Token id of the candidate with the largest logit (`argmax` is an index into the candidates,
    /// which is the token id only while they are dense).
    public func argmaxToken() -> Int32 {
        let i = argmax()
        return isDense ? Int32(truncatingIfNeeded: i) : storage[i].id
    }

    /// Token id of the selected candidate.
    public var selectedToken: Int32? {
        guard let s = selectedIndex else { return nil }
        return isDense ? Int32(truncatingIfNeeded: s) : storage[s].id
    }

    func swapStorage() {
        swap(&storage, &scratch)
    }
}
