/// Qwen3-MoE (Qwen3-30B-A3B, 235B-A22B): Qwen3's attention (per-head query/key RMS norms, NeoX
/// RoPE, no biases) with every feed-forward block replaced by routed experts: softmax over all
/// experts' router logits, the top `expert_used_count`, their weights renormalized to sum 1
/// (always, as llama.cpp builds this architecture), SiLU-gated expert FFNs of
/// `expert_feed_forward_length`, no shared expert.
enum Qwen3MoE: Architecture {
    static let name = "qwen3moe"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        try Qwen3.configure(&c, keys)
        c.experts = try ExpertConfiguration(keys, gating: .softmax, normalizesWeights: true, activation: .gated(.silu),
                                            feedForwardLength: c.feedForwardLength)
    }
}
