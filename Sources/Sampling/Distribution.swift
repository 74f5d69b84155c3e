/// Final selection by drawing from the softmax distribution with the sequence's generator.
///
/// Math: u ~ U[0,1); pick the first i with Σ_{j≤i} p_j > u · Σ_j p_j (list order).
public final class DistributionSampler: Sampler {
    public var name: String { "dist" }
    public init() {}

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        c.softmax()
        c.selectedIndex = Self.draw(c, rng: &rng)
    }

    /// Draws an index of the (already softmaxed) list.
    static func draw(_ c: TokenCandidates, rng: inout SamplingRandomGenerator) -> Int {
        var total: Double = 0
        for i in 0..<c.count { total += Double(c.storage[i].p) }
        let target = rng.nextUnitDouble() * total
        var cum: Double = 0
        var lastPositive = 0
        for i in 0..<c.count {
            let p = Double(c.storage[i].p)
            if p > 0 { lastPositive = i }
            cum += p
            if cum > target { return i }
        }
        return lastPositive
    }
}

/// Greedy selection (temperature ≤ 0): the argmax of the logits.
///
/// Math: pick argmax_i l_i (first index on ties); works on dense logits without building a list.
public final class GreedySampler: Sampler {
    public var name: String { "greedy" }
    public init() {}

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        c.selectedIndex = c.argmax()
    }
}
