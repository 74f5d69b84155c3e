import Models

extension Engine {
    /// Runs an embedding job on an idle slot: feeds the tokens in `-b` chunks, pools the final
    /// hidden states, then clears the slot's cache (embedding tokens are not a reusable prompt).
    func runEmbedding(_ job: EmbeddingJob, on slot: Slot) {
        cache.clear(slot.id)
        slot.cachedTokens = []
        defer { cache.clear(slot.id) }
        let d = model.config.embeddingLength
        var states: [Float] = []
        states.reserveCapacity(job.tokens.count * d)
        var start = 0
        let scales = condition.withLock { defaultAdapterScales }
        do {
            while start < job.tokens.count {
                if job.isCancelled() {
                    job.reply(.failure(.cancelled))
                    return
                }
                let end = min(job.tokens.count, start + configuration.microBatchSize)
                var batch = Batch(tokens: Array(job.tokens[start..<end]), startPosition: start, sequence: slot.id)
                batch.adapterScales[slot.id] = scales
                states += try model.forwardHidden(batch, cache: cache)
                start = end
            }
        } catch {
            job.reply(.failure(.modelFailure("\(error)")))
            return
        }
        job.reply(.success(Self.pool(states, rows: job.tokens.count, width: d, pooling: job.pooling)))
    }

    /// Pools `rows × width` hidden states: mean, first (cls), last, or every row (none).
    static func pool(_ states: [Float], rows: Int, width d: Int, pooling: Pooling) -> [[Float]] {
        func row(_ i: Int) -> [Float] { Array(states[(i * d)..<((i + 1) * d)]) }
        switch pooling {
        case .none: return (0..<rows).map(row)
        case .cls: return [row(0)]
        case .last: return [row(rows - 1)]
        case .mean:
            var sum = [Float](repeating: 0, count: d)
            for i in 0..<rows { for j in 0..<d { sum[j] += states[i * d + j] } }
            return [sum.map { $0 / Float(rows) }]
        }
    }
}
