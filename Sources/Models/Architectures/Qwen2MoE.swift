/// Qwen2-MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B): Qwen2's attention (q/k/v biases, NeoX RoPE)
/// with routed experts (softmax over all, top `expert_used_count`, weights not renormalized) plus
/// a shared expert of `expert_shared_feed_forward_length` (default: `feed_forward_length`) that
/// every token uses, scaled by sigmoid(`ffn_gate_inp_shexp`·x).
enum Qwen2MoE: Architecture {
    static let name = "qwen2moe"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        try Qwen2.configure(&c, keys)
        var experts = try ExpertConfiguration(keys, gating: .softmax, normalizesWeights: false, activation: .gated(.silu),
                                              feedForwardLength: c.feedForwardLength)
        experts.sharedFeedForwardLength = try ExpertConfiguration.sharedLength(keys, fallback: c.feedForwardLength)
        c.experts = experts
    }
}
