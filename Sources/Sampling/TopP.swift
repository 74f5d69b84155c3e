/// Top-p (nucleus): keep the smallest highest-probability prefix whose mass reaches p.
///
/// Math: sort by p desc, keep i ≤ first j with Σ_{i≤j} p_i ≥ p (and j+1 ≥ min_keep). p ≥ 1 disables.
/// Only a growing prefix is partially sorted, so large lists are not fully sorted.
public final class TopPSampler: Sampler {
    public let p: Float
    public let minKeep: Int
    public var name: String { "top_p" }

    public init(p: Float, minKeep: Int = 1) {
        self.p = p
        self.minKeep = minKeep
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard p < 1 else { return }
        c.softmax()
        var prefix = min(c.count, max(64, minKeep))
        while true {
            c.ensureSortedPrefix(prefix)
            var cum: Float = 0
            for i in 0..<prefix {
                cum += c.storage[i].p
                if cum >= p && i + 1 >= minKeep {
                    c.truncate(to: i + 1)
                    return
                }
            }
            if prefix >= c.count { return }
            prefix = min(c.count, prefix * 8)
        }
    }
}
