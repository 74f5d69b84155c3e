import Foundation

/// Locally typical sampling (typical_p): prefer tokens whose surprise is close to the entropy.
///
/// Math: H = −Σ p_i ln p_i; order by |−ln p_i − H| ascending; keep the shortest prefix with mass > p (≥ min_keep). p ≥ 1 disables.
public final class TypicalSampler: Sampler {
    public let p: Float
    public let minKeep: Int
    public var name: String { "typical_p" }

    public init(p: Float, minKeep: Int = 1) {
        self.p = p
        self.minKeep = minKeep
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard p < 1 else { return }
        c.softmax()
        let n = c.count
        var entropy: Float = 0
        for i in 0..<n {
            let pi = c.storage[i].p
            if pi > 0 { entropy -= pi * logf(pi) }
        }
        // scratch[j] = (index j, |surprise − H|, p) — sorted ascending by the shifted score.
        for i in 0..<n {
            let pi = c.storage[i].p
            let shifted = pi > 0 ? abs(-logf(pi) - entropy) : Float.infinity
            c.scratch[i] = TokenData(id: Int32(truncatingIfNeeded: i), logit: shifted, p: pi)
        }
        Sorting.sort(c.scratch, count: n, by: ByLogitAscending.self)
        var cum: Float = 0
        var last = n
        for i in 0..<n {
            cum += c.scratch[i].p
            if cum > p && i >= minKeep - 1 {
                last = i + 1
                break
            }
        }
        for j in 0..<last {
            c.scratch[j] = c.storage[Int(c.scratch[j].id)]
        }
        c.swapStorage()
        c.count = last
        c.sortedPrefix = 0
        c.hasProbabilities = false
    }
}
