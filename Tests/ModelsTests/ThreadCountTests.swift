import Testing
@testable import Models

/// `-t` and `-tb`: which thread count each forward pass runs on.
@Suite struct ThreadCountTests {
    /// As llama.cpp (`n_tokens == 1 ? n_threads : n_threads_batch`): a one-row batch (a decode
    /// step) runs on `threads`; any larger batch (prompt chunks, several slots) on `batchThreads`.
    @Test func decodeUsesThreadsAndBatchesUseBatchThreads() throws {
        let model = try TransformerModel(path: Synthetic.path("llama-f32"), threads: 1, batchThreads: 3)
        #expect(model.pool.threadCount == 3)
        let cache = model.makeCache(capacity: 64)
        _ = try model.forward(Batch(tokens: [1, 2, 3, 4], startPosition: 0), cache: cache)
        #expect(model.pool.activeThreads == 3)
        _ = try model.forward(Batch(tokens: [5], startPosition: 4), cache: cache)
        #expect(model.pool.activeThreads == 1)
    }

    @Test func batchThreadsDefaultToThreads() throws {
        let model = try TransformerModel(path: Synthetic.path("llama-f32"), threads: 2)
        #expect(model.batchThreads == 2 && model.pool.threadCount == 2)
    }
}
