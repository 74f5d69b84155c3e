import Foundation

/// Top-n-sigma: keep the tokens whose logit lies within n standard deviations of the largest.
///
/// Math (llama.cpp's `top-n-sigma`): over the candidates whose logit is not −∞, m = max l_i,
/// μ = mean l_i, σ = sqrt(mean (l_i − μ)²); keep { i : l_i ≥ m − n·σ }. n ≤ 0 disables (llama.cpp
/// builds no sampler then), so does a list of one token. It runs before temperature in the default
/// order, so it sees the unscaled logits. The tokens it drops are removed from the list rather
/// than set to −∞ as llama.cpp does; either way they get probability 0.
public final class TopNSigmaSampler: Sampler {
    public let n: Float
    public var name: String { "top_n_sigma" }

    public init(n: Float) {
        self.n = n
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard n > 0, c.count > 1 else { return }
        let count = c.count
        // Pass 1: max and mean over the finite candidates; pass 2: the variance.
        var maxLogit = -Float.infinity
        var sum: Double = 0
        var valid = 0
        if c.isDense {
            let x = c.denseLogits
            for i in 0..<count where x[i] != -.infinity {
                let l = x[i]
                if l > maxLogit { maxLogit = l }
                sum += Double(l)
                valid += 1
            }
        } else {
            for i in 0..<count where c.storage[i].logit != -.infinity {
                let l = c.storage[i].logit
                if l > maxLogit { maxLogit = l }
                sum += Double(l)
                valid += 1
            }
        }
        guard valid > 0 else { return }
        let mean = sum / Double(valid)
        var acc: Double = 0
        if c.isDense {
            let x = c.denseLogits
            for i in 0..<count where x[i] != -.infinity {
                let d = Double(x[i]) - mean
                acc += d * d
            }
        } else {
            for i in 0..<count where c.storage[i].logit != -.infinity {
                let d = Double(c.storage[i].logit) - mean
                acc += d * d
            }
        }
        let sigma = Float((acc / Double(valid)).squareRoot())
        let threshold = maxLogit - n * sigma
        if c.isDense {
            // Survivors straight into the list (the max always survives, so n ≥ 1).
            let kept = FastMath.collect(c.denseLogits, c.vocabularySize, atLeast: threshold, into: c.storage)
            guard kept > 0 else { return }  // a NaN threshold (infinite logits): leave the candidates alone
            c.count = kept
            c.isDense = false
            c.sortedPrefix = 0
            c.hasProbabilities = false
        } else {
            // Compact in place, keeping the list's order (so a sorted prefix stays sorted).
            var w = 0
            var sortedKept = 0
            for r in 0..<count where c.storage[r].logit >= threshold {
                if r < c.sortedPrefix && r == w { sortedKept += 1 }
                c.storage[w] = c.storage[r]
                w += 1
            }
            if w != count {
                c.count = w
                c.hasProbabilities = false
                c.sortedPrefix = sortedKept
            }
        }
    }
}
