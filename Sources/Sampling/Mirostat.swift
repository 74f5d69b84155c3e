import Foundation

/// Mirostat v1: adaptive top-k keeping the observed surprise near τ (uses the vocabulary size N).
///
/// Math: ŝ from the top-100 Zipf fit, ε̂ = ŝ − 1, k = (ε̂·2^μ / (1 − N^(−ε̂)))^(1/ŝ); sample from top-k; μ ← μ − η(−log₂ p_x − τ).
/// μ starts at 2τ. The μ update computed in `apply` is committed by `accept` of the same token,
/// so a grammar resample does not double-update it.
public final class MirostatSampler: Sampler {
    public var tau: Float { target.tau }
    public var eta: Float { target.eta }
    public let m: Int
    public let vocabularySize: Int
    public var mu: Float { target.mu }
    private var target: MirostatTarget
    public var name: String { "mirostat" }

    public init(vocabularySize: Int, tau: Float, eta: Float, m: Int = 100) {
        self.vocabularySize = vocabularySize
        self.m = m
        self.target = MirostatTarget(tau: tau, eta: eta)
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        c.softmax()
        let top = min(m, c.count)
        c.ensureSortedPrefix(top)
        var sumTB: Float = 0
        var sumT2: Float = 0
        if top >= 2 {
            for i in 0..<(top - 1) {
                let t = logf(Float(i + 2) / Float(i + 1))
                let b = logf(c.storage[i].p / c.storage[i + 1].p)
                sumTB += t * b
                sumT2 += t * t
            }
        }
        let sHat = sumTB / sumT2
        let epsHat = sHat - 1
        let kf = powf(epsHat * powf(2, mu) / (1 - powf(Float(vocabularySize), -epsHat)), 1 / sHat)
        var k = c.count
        if kf.isFinite && kf >= 1 { k = min(c.count, Int(kf)) } else if kf.isFinite { k = 1 }
        c.ensureSortedPrefix(k)
        c.truncate(to: max(1, k))
        target.drawAndMeasure(c, rng: &rng)
    }

    public func accept(_ token: Int32) { target.accept(token) }

    public func reset() { target.reset() }
}

/// Mirostat v2: truncate tokens more surprising than μ, sample, then adapt μ toward τ.
///
/// Math: keep { i : −log₂ p_i ≤ μ } (at least the top token), renormalise, sample x; μ ← μ − η(−log₂ p_x − τ).
public final class MirostatV2Sampler: Sampler {
    public var tau: Float { target.tau }
    public var eta: Float { target.eta }
    public var mu: Float { target.mu }
    private var target: MirostatTarget
    public var name: String { "mirostat_v2" }

    public init(tau: Float, eta: Float) {
        self.target = MirostatTarget(tau: tau, eta: eta)
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        c.softmax()
        var kept = 0
        for i in 0..<c.count where -log2f(c.storage[i].p) <= mu { kept += 1 }
        if kept == 0 {
            c.ensureSortedPrefix(1)
            c.truncate(to: 1)
        } else if kept < c.count {
            // Keep the same set a sorted prefix cut would keep, in descending order.
            c.ensureSortedPrefix(kept)
            c.truncate(to: kept)
        }
        target.drawAndMeasure(c, rng: &rng)
    }

    public func accept(_ token: Int32) { target.accept(token) }

    public func reset() { target.reset() }
}

/// The feedback loop both Mirostat versions share: draw from the truncated candidates, measure
/// the surprise −log₂ p_x, and prepare μ ← μ − η(surprise − τ). The update is committed by
/// `accept` of the same token, so a grammar resample does not double-update μ.
struct MirostatTarget {
    let tau: Float
    let eta: Float
    private(set) var mu: Float
    private var pending: (token: Int32, mu: Float)?

    init(tau: Float, eta: Float) {
        self.tau = tau
        self.eta = eta
        self.mu = 2 * tau
    }

    mutating func drawAndMeasure(_ c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        c.softmax()
        let x = DistributionSampler.draw(c, rng: &rng)
        c.selectedIndex = x
        let surprise = -log2f(c.storage[x].p)
        pending = (c.storage[x].id, mu - eta * (surprise - tau))
    }

    mutating func accept(_ token: Int32) {
        if let p = pending, p.token == token { mu = p.mu }
        pending = nil
    }

    mutating func reset() {
        mu = 2 * tau
        pending = nil
    }
}
