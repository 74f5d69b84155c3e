import Foundation
import Sampling
import TestSupport

/// Per-token cost of the sampler chain on gaussian logits over a full-size vocabulary, for the
/// default chain and a few common variations.
struct SamplingBench {
    let vocabularySize: Int
    let tokens: Int

    func run() {
        print("## Sampling: ms per token, vocabulary \(vocabularySize), \(tokens) tokens each")
        // A few distinct logit vectors, so caches and branch predictors do not see one input.
        let inputs = (0..<8).map { Self.gaussianLogits(count: vocabularySize, seed: UInt64($0 + 1), scale: 2.5) }
        let configurations: [(String, (inout SamplingParameters) -> Void)] = [
            ("default chain (top_k 40 → … → dist, penalties over 64)", { _ in }),
            ("default chain + n_probs 10", { $0.nProbs = 10 }),
            ("greedy (temperature 0)", { $0.temperature = 0 }),
            ("top_k 0, top_p 0.95, min_p 0.05", { $0.topK = 0 }),
            ("top_k 0, samplers [min_p, top_p, temperature]", { $0.topK = 0; $0.samplers = ["min_p", "top_p", "temperature"] }),
        ]
        for (label, edit) in configurations {
            var params = SamplingParameters()
            params.seed = 1
            edit(&params)
            guard let chain = try? SamplerChain(parameters: params, vocabulary: VocabularyInfo(size: vocabularySize, eosTokens: [1], newlineToken: 10),
                                                contextSize: 8192) else {
                print("  \(label): invalid parameters"); continue
            }
            chain.acceptPrompt((0..<64).map { Int32($0 * 97) })
            for i in 0..<5 { chain.accept(chain.sample(logits: inputs[i % 8]).token) }  // warm-up
            let elapsed = seconds {
                for i in 0..<tokens { chain.accept(chain.sample(logits: inputs[i % 8]).token) }
            }
            print("  " + padded(label, 56) + String(format: "%9.4f ms/token", elapsed * 1e3 / Double(tokens)))
        }
    }

    /// Deterministic gaussian logits (Box–Muller).
    static func gaussianLogits(count: Int, seed: UInt64, scale: Float) -> [Float] {
        var rng = SplitMix(seed: seed)
        var out = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let r = (-2 * log(max(rng.unit(), 1e-12))).squareRoot(), angle = 2 * Double.pi * rng.unit()
            out[i] = Float(r * cos(angle)) * scale
            if i + 1 < count { out[i + 1] = Float(r * sin(angle)) * scale }
            i += 2
        }
        return out
    }
}
