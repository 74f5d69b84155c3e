/// Llama 1–3.x and the models converted as `llama` (Mistral 7B, Mistral Nemo, …): pre-norm
/// blocks, SwiGLU, RoPE on adjacent pairs. Llama 3.x's long-context RoPE arrives as the
/// `rope_freqs.weight` divisors (bound in `ModelWeights`); Mistral-style files may set a head
/// dimension other than n_embd / n_head (`attention.key_length`). A `sliding_window` key is
/// ignored, as llama.cpp ignores it for this architecture. With `expert_count` > 0 (Mixtral) every
/// feed-forward block is routed experts of `feed_forward_length` each: softmax over all, the top
/// `expert_used_count`, weights renormalized, SiLU-gated.
enum Llama: Architecture {
    static let name = "llama"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .normal
        c.activation = .silu
        // llama.cpp requires full-width rotation for llama.
        guard c.ropeDimensions == c.headDimension else {
            throw ModelError.invalidHyperparameter("llama: rope dimension count \(c.ropeDimensions) ≠ head dimension \(c.headDimension)")
        }
        if let count = keys.int("expert_count"), count > 0 {
            var experts = try ExpertConfiguration(keys, gating: .softmax, normalizesWeights: true, activation: .gated(.silu),
                                                  feedForwardLength: c.feedForwardLength)
            experts.feedForwardLength = c.feedForwardLength  // (llama.cpp's llama experts are n_ff wide)
            c.experts = experts
        }
    }
}
