import Foundation

/// Temperature: sharpen (t < 1) or flatten (t > 1) the distribution.
///
/// Math: l_i ← l_i / t (t > 0; greedy decoding handles t ≤ 0 before the chain runs).
public final class TemperatureSampler: Sampler {
    public let temperature: Float
    public var name: String { "temperature" }

    public init(temperature: Float) {
        self.temperature = temperature
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard temperature > 0, temperature != 1 else { return }
        let inv = 1 / temperature
        if c.isDense {
            FastMath.scale(c.denseLogits, c.vocabularySize, by: inv)
        } else {
            for i in 0..<c.count { c.storage[i].logit *= inv }
        }
        c.logitsChanged(orderPreserved: true)
    }
}

/// Dynamic (entropy-scaled) temperature, used in place of `temperature` when `dynatemp_range` > 0.
///
/// Math: t = t_min + (t_max − t_min)·(H / ln N)^exponent, t_min = max(0, T − range), t_max = T + range; l_i ← l_i / t.
public final class DynamicTemperatureSampler: Sampler {
    public let temperature: Float
    public let range: Float
    public let exponent: Float
    public var name: String { "temperature" }
    /// Temperature chosen on the last `apply` (for diagnostics and tests).
    public private(set) var lastTemperature: Float = .nan

    public init(temperature: Float, range: Float, exponent: Float) {
        self.temperature = temperature
        self.range = range
        self.exponent = exponent
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        c.materialize()
        guard c.count > 1 else { return }
        let minT = max(0, temperature - range)
        let maxT = temperature + range
        c.softmax()
        var entropy: Float = 0
        for i in 0..<c.count {
            let p = c.storage[i].p
            if p > 0 { entropy -= p * logf(p) }
        }
        let maxEntropy = logf(Float(c.count))
        let normalized = entropy / maxEntropy
        var t = minT + (maxT - minT) * powf(normalized, exponent)
        if !(t > 0) { t = 1e-6 }
        lastTemperature = t
        let inv = 1 / t
        for i in 0..<c.count { c.storage[i].logit *= inv }
        c.logitsChanged(orderPreserved: true)
    }
}
