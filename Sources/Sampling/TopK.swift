/// Top-k: keep the k largest logits (k ≤ 0 disables; at least `minKeep` survive).
///
/// Math: keep { i : rank(l_i) < max(k, min_keep) }, result sorted by descending logit.
/// On dense candidates this is a single vectorised heap scan of the vocabulary, never a sort.
public final class TopKSampler: Sampler {
    public let k: Int
    public let minKeep: Int
    public var name: String { "top_k" }

    public init(k: Int, minKeep: Int = 1) {
        self.k = k
        self.minKeep = minKeep
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        guard k > 0 else { return }
        let keep = max(k, minKeep)
        if c.isDense {
            guard keep < c.vocabularySize else { return }
            let n = FastMath.topK(c.denseLogits, c.vocabularySize, k: keep, into: c.storage)
            c.count = n
            c.isDense = false
            c.sortedPrefix = n
            c.hasProbabilities = false
            return
        }
        guard keep < c.count else { c.sortDescending(); return }
        c.ensureSortedPrefix(keep)
        c.truncate(to: keep)
    }
}
