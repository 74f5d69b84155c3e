/// Repetition, presence and frequency penalties over the last `repeat_last_n` tokens.
///
/// Math: for each token i seen c_i > 0 times in the window: l_i ← (l_i ≤ 0 ? l_i·r : l_i / r) − c_i·α_freq − α_presence.
/// The window is a ring buffer with per-token counts maintained incrementally, so each step costs
/// O(window) with no allocation. With `penalizeNewline == false` the newline token is left alone.
public final class PenaltiesSampler: Sampler {
    public let repeatPenalty: Float
    public let frequencyPenalty: Float
    public let presencePenalty: Float
    public let window: Int
    public let newlineToken: Int32?
    public let penalizeNewline: Bool
    public var name: String { "penalties" }

    private let vocabularySize: Int
    private var ring: [Int32]
    private var head = 0
    private var filled = 0
    private var counts: [Int32]

    /// - Parameters:
    ///   - window: number of most recent tokens considered (> 0).
    public init(vocabularySize: Int, window: Int, repeatPenalty: Float, frequencyPenalty: Float,
                presencePenalty: Float, newlineToken: Int32?, penalizeNewline: Bool) {
        precondition(window > 0)
        self.vocabularySize = vocabularySize
        self.window = window
        self.repeatPenalty = repeatPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.newlineToken = newlineToken
        self.penalizeNewline = penalizeNewline
        ring = [Int32](repeating: -1, count: window)
        counts = [Int32](repeating: 0, count: vocabularySize)
    }

    /// The tokens currently in the window, oldest first.
    public var history: [Int32] {
        (0..<filled).map { ring[(head - filled + $0 + window) % window] }
    }

    /// How many times `token` occurs in the window.
    public func count(of token: Int32) -> Int {
        let t = Int(token)
        return t >= 0 && t < vocabularySize ? Int(counts[t]) : 0
    }

    public func accept(_ token: Int32) {
        let t = Int(token)
        guard t >= 0 && t < vocabularySize else { return }
        if filled == window {
            let old = Int(ring[head])
            if old >= 0 { counts[old] -= 1 }
        } else {
            filled += 1
        }
        ring[head] = token
        counts[t] += 1
        head = (head + 1) % window
    }

    public func reset() {
        for i in 0..<window where ring[i] >= 0 {
            counts[Int(ring[i])] = 0
            ring[i] = -1
        }
        head = 0
        filled = 0
    }

    @inline(__always)
    private func penalise(_ l: inout Float, count n: Int32) {
        l = l <= 0 ? l * repeatPenalty : l / repeatPenalty
        l -= Float(n) * frequencyPenalty + presencePenalty
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard filled > 0 else { return }
        if repeatPenalty == 1 && frequencyPenalty == 0 && presencePenalty == 0 { return }
        let skip: Int32 = penalizeNewline ? -1 : (newlineToken ?? -1)
        counts.withUnsafeMutableBufferPointer { counts in
            ring.withUnsafeBufferPointer { ring in
                // Pass 1: penalise each distinct token once, marking it by negating its count.
                for j in 0..<filled {
                    let tok = ring[(head - 1 - j + window) % window]
                    let t = Int(tok)
                    let n = counts[t]
                    guard n > 0 else { continue }
                    counts[t] = -n
                    if tok == skip { continue }
                    if c.isDense {
                        penalise(&c.denseLogits[t], count: n)
                    } else {
                        for i in 0..<c.count where c.storage[i].id == tok { penalise(&c.storage[i].logit, count: n) }
                    }
                }
                // Pass 2: restore the counts.
                for j in 0..<filled {
                    let t = Int(ring[(head - 1 - j + window) % window])
                    if counts[t] < 0 { counts[t] = -counts[t] }
                }
            }
        }
        if !c.isDense { c.logitsChanged(orderPreserved: false) }
    }
}
