import Foundation
import CriaNumerics
import GGUF

/// Perplexity over a token stream, computed the way llama.cpp's `llama-perplexity` does:
/// the text is cut into chunks of `contextLength` tokens, the first token of each chunk is
/// replaced by BOS, and only the second half of each chunk is scored:
/// for j in n/2 ..< n−1, NLL += −log softmax(logits[j])[token[j+1]]; PPL = exp(mean NLL).
public struct PerplexityEvaluator {
    public let model: TransformerModel
    public let contextLength: Int
    public let bos: Int32
    /// The KV cache formats (`-ctk`/`-ctv`).
    public var keyType = GGMLType.f16, valueType = GGMLType.f16

    public init(model: TransformerModel, contextLength: Int, bos: Int32) {
        self.model = model
        self.contextLength = contextLength
        self.bos = bos
    }

    /// Running totals after each chunk, so callers can report progress.
    public struct Progress: Sendable {
        public var chunk: Int
        public var chunkCount: Int
        public var negativeLogLikelihood: Double
        public var scoredTokens: Int
        public var perplexity: Double { Foundation.exp(negativeLogLikelihood / Double(max(scoredTokens, 1))) }
    }

    public func chunkCount(tokens: Int) -> Int { tokens / contextLength }

    /// Scores up to `maxChunks` chunks of `tokens` (which should start with BOS, as tokenized).
    public func evaluate(tokens: [Int32], maxChunks: Int? = nil, progress: (Progress) -> Void = { _ in }) throws -> Progress {
        let n = contextLength
        let chunks = min(chunkCount(tokens: tokens.count), maxChunks ?? .max)
        let vocab = model.config.vocabularySize
        let first = n / 2
        var state = Progress(chunk: 0, chunkCount: chunks, negativeLogLikelihood: 0, scoredTokens: 0)
        for c in 0..<chunks {
            var chunk = Array(tokens[c * n..<(c + 1) * n])
            chunk[0] = bos
            let cache = try model.makeCache(capacity: n, keyType: keyType, valueType: valueType)
            var batch = Batch(tokens: chunk, startPosition: 0)
            for i in batch.rows.indices { batch.rows[i].wantsLogits = i >= first && i < n - 1 }
            let logits = try model.forward(batch, cache: cache)
            logits.withUnsafeBufferPointer { lb in
                for (row, j) in (first..<n - 1).enumerated() {
                    let lp = VectorMath.logSoftmax(at: Int(chunk[j + 1]), lb.baseAddress! + row * vocab, count: vocab)
                    state.negativeLogLikelihood -= Double(lp)
                    state.scoredTokens += 1
                }
            }
            state.chunk = c + 1
            progress(state)
        }
        return state
    }
}

