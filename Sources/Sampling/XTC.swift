import Foundation

/// XTC ("exclude top choices"): with probability `probability`, remove every token whose
/// probability is at least `threshold` except the least probable of them.
///
/// Math (llama.cpp's `xtc`): draw u ~ U[0,1) from the sampler's own generator; if u > probability,
/// do nothing. Otherwise sort the candidates by probability (softmax over the current list) and let
/// m = |{ i : p_i ≥ threshold }|; when m ≥ 2 and the list keeps at least `minKeep` tokens, drop the
/// m − 1 most probable. Disabled (no draw either) when probability ≤ 0, threshold > 0.5, or fewer
/// than two candidates.
///
/// Like llama.cpp, XTC has its own generator seeded with the chain's seed, so its draws do not
/// shift the final distribution draw's stream (the generators themselves differ from llama.cpp's
/// mt19937, so seeded outputs do not match llama-server's token for token).
public final class XTCSampler: Sampler {
    public let probability: Float
    public let threshold: Float
    public let minKeep: Int
    public let seed: UInt64
    public var name: String { "xtc" }

    private var generator: SamplingRandomGenerator

    public init(probability: Float, threshold: Float, minKeep: Int = 1, seed: UInt64) {
        self.probability = probability
        self.threshold = threshold
        self.minKeep = minKeep
        self.seed = seed
        generator = SamplingRandomGenerator(seed: seed)
    }

    /// False when the settings make XTC a no-op (llama.cpp then builds no sampler at all).
    public static func isActive(probability: Float, threshold: Float) -> Bool {
        probability > 0 && threshold <= 0.5
    }

    public func reset() {
        generator.reseed(seed)
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard Self.isActive(probability: probability, threshold: threshold), c.count >= 2 else { return }
        // llama.cpp draws a float in [0, 1); the top 24 bits of a double draw give the same grid.
        let chance = Float(generator.nextUnitDouble())
        if chance > probability { return }
        c.softmax()
        // The tokens at or above the threshold are the most probable ones: count them, then sort
        // only that prefix (the rest keeps its order, as nothing below it is touched).
        var above = 0
        for i in 0..<c.count where c.storage[i].p >= threshold { above += 1 }
        let drop = above - 1
        guard drop > 0, c.count - drop >= minKeep else { return }
        c.ensureSortedPrefix(above)
        let remaining = c.count - drop
        for i in 0..<remaining { c.storage[i] = c.storage[i + drop] }  // forward copy: the regions overlap
        c.count = remaining
        c.sortedPrefix = max(0, c.sortedPrefix - drop)
        c.hasProbabilities = false
    }
}
