/// Where llama-server cuts a prompt into forward passes, so that Cria's llama.cpp numerics feed the
/// same row counts and so get llama.cpp's results, which depend on them (K-quant products from 8 rows,
/// attention from 64). For a sliding-window model llama-server checkpoints the window state
/// before the end of the prompt: it feeds the last 4 tokens, and the last 4 + micro-batch
/// tokens, as separate steps.
public enum PromptChunking {
    /// How many of the `remaining` prompt tokens to feed in the next step, at most `budget`.
    public static func nextChunk(remaining: Int, budget: Int, slidingWindow: Bool, logicalBatchSize: Int,
                                 microBatchSize: Int) -> Int {
        let limit = max(0, min(remaining, budget))
        guard slidingWindow, limit > 0 else { return limit }
        let marks = [min(logicalBatchSize, 4 + microBatchSize), min(logicalBatchSize, 4)]
        for k in 1...limit where marks.contains(remaining - k) { return k }
        return limit
    }

    /// The end of the first step for a whole prompt of `promptCount` tokens.
    public static func firstChunkEnd(promptCount: Int, slidingWindow: Bool, logicalBatchSize: Int, microBatchSize: Int) -> Int {
        nextChunk(remaining: promptCount, budget: logicalBatchSize, slidingWindow: slidingWindow,
                  logicalBatchSize: logicalBatchSize,
                  microBatchSize: microBatchSize)
    }
}
