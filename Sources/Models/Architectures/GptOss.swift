import CriaNumerics

/// OpenAI's gpt-oss (20B, 120B; llama.cpp's `openai-moe`, GGUF name `gpt-oss`): attention with
/// biases on the query, key, value and output projections and a learned sink logit per head
/// (`attn_sinks`, joining each softmax's denominator); every other layer attends within a
/// sliding window (even layers, `attention.sliding_window`), the others globally; NeoX RoPE with
/// YaRN on every layer (sliding layers too, at `rope.freq_base_swa` when given); the
/// feed-forward input norm is stored as `post_attention_norm`; and every feed-forward block is
/// routed experts: router with a bias, the top `expert_used_count` logits softmaxed among
/// themselves, experts with per-expert biases on gate, up and down and the clamped SwiGLU
/// (α 1.702, limit 7), usually stored as MXFP4.
enum GptOss: Architecture {
    static let name = "gpt-oss"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .neox
        c.activation = .silu
        guard let window = keys.int("attention.sliding_window") else {
            throw ModelError.missingMetadata(key: keys.key("attention.sliding_window"))
        }
        guard window > 0 else { throw ModelError.invalidHyperparameter("\(keys.key("attention.sliding_window")) = \(window)") }
        c.slidingWindow = window
        c.setSlidingPattern(keys, defaultPattern: 2)
        c.ropeBaseSliding = keys.float("rope.freq_base_swa") ?? c.ropeBase
        c.ropeScaleSliding = c.ropeScale
        c.ropeAttentionFactorSliding = c.ropeAttentionFactor
        if c.ropeYaRN != nil {
            c.ropeYaRNSliding = RoPE.YaRN(dims: c.ropeDimensions, originalContext: c.ropeOriginalContext,
                                          base: c.ropeBaseSliding, factor: c.ropeScale)
        }
        c.ffnNormTensor = "post_attention_norm"
        c.hasAttentionSinks = true
        c.experts = try ExpertConfiguration(keys, gating: .softmaxOfSelected, normalizesWeights: false,
                                            activation: .swigluOAI(alpha: 1.702, limit: 7), feedForwardLength: c.feedForwardLength)
    }
}
