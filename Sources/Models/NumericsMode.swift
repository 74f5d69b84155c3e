/// How a forward pass orders its floating-point reductions.
public enum NumericsMode: String, Sendable, CaseIterable {
    /// Every row is computed the same way whatever else is in its batch: one matmul order and
    /// one attention path for prompt and generated rows alike. A sequence's numbers then depend
    /// only on its own tokens, not on the batch it shares, how its prompt was chunked, what was
    /// cached, `-b`/`-ub` or the thread count: the same request always gets the same answer.
    case invariant
    /// llama.cpp's batch-dependent orders (its tiled K-quant matmul from 8 rows of a sequence in a
    /// micro-batch, its repacked Q4_K gemm from 4, its tiled attention from 64), which reproduce
    /// llama.cpp's results bit for bit but make a sequence's numbers depend on how it was batched.
    case llamaCpp = "llama.cpp"
}
