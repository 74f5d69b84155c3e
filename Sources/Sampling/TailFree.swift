/// Tail-free sampling (tfs_z): cut the tail where the curvature of the sorted distribution flattens.
///
/// Math: d1_i = p_i − p_{i+1}, d2_i = |d1_i − d1_{i+1}| / Σ|d2|; keep i < first j with Σ_{≤j} d2 > z (j ≥ min_keep). z ≥ 1 disables.
public final class TailFreeSampler: Sampler {
    public let z: Float
    public let minKeep: Int
    public var name: String { "tfs_z" }

    public init(z: Float, minKeep: Int = 1) {
        self.z = z
        self.minKeep = minKeep
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard z < 1, c.count > 2 else { return }
        c.softmax()
        c.sortDescending()
        let n = c.count
        let d = c.floatScratch
        // Second derivatives (absolute), n - 2 of them.
        var total: Float = 0
        for i in 0..<(n - 2) {
            let d1a = c.storage[i].p - c.storage[i + 1].p
            let d1b = c.storage[i + 1].p - c.storage[i + 2].p
            let v = abs(d1a - d1b)
            d[i] = v
            total += v
        }
        if total > 1e-6 {
            for i in 0..<(n - 2) { d[i] /= total }
        } else {
            let u = 1 / Float(n - 2)
            for i in 0..<(n - 2) { d[i] = u }
        }
        var cum: Float = 0
        var last = n
        for i in 0..<(n - 2) {
            cum += d[i]
            if cum > z && i >= minKeep {
                last = i
                break
            }
        }
        c.truncate(to: last)
    }
}
