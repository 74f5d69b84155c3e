import Foundation

/// Min-p: drop tokens whose probability is below p times the top token's probability.
///
/// Math: keep { i : p_i ≥ p · p_max } ⇔ l_i ≥ l_max + ln p (at least `minKeep` kept). p ≤ 0 disables.
public final class MinPSampler: Sampler {
    public let p: Float
    public let minKeep: Int
    public var name: String { "min_p" }

    public init(p: Float, minKeep: Int = 1) {
        self.p = p
        self.minKeep = minKeep
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard p > 0, c.count > 0 else { return }
        let threshold = c.maxLogit() + logf(p)
        if c.isDense {
            let n = FastMath.collect(c.denseLogits, c.vocabularySize, atLeast: threshold, into: c.storage)
            if n >= minKeep && n > 0 {
                c.count = n
                c.isDense = false
                c.sortedPrefix = 0
                c.hasProbabilities = false
                return
            }
        } else if c.sortedPrefix < c.count {
            // Unsorted list: count survivors, then compact in place if enough remain.
            var survivors = 0
            for r in 0..<c.count where c.storage[r].logit >= threshold { survivors += 1 }
            if survivors >= minKeep && survivors > 0 {
                var w = 0
                for r in 0..<c.count where c.storage[r].logit >= threshold {
                    c.storage[w] = c.storage[r]
                    w += 1
                }
                if w != c.count { c.hasProbabilities = false }
                c.count = w
                c.sortedPrefix = 0
                return
            }
        }
        // Sorted path (also the min_keep fallback for dense input).
        c.materialize()
        c.sortDescending()
        var i = 1
        while i < c.count {
            if c.storage[i].logit < threshold && i >= minKeep { break }
            i += 1
        }
        c.truncate(to: i)
    }
}
