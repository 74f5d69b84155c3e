/// Gemma 2: Gemma's block (√n_embd embeddings, GELU, pre- and post-norms, scaled queries, tied
/// output) with soft-capped attention scores and logits (cap·tanh(x/cap)) and alternating
/// sliding-window and global layers (even layers slide), one RoPE base for both.
enum Gemma2: Architecture {
    static let name = "gemma2"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .neox
        c.activation = .gelu
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.scalesQueries = true
        c.hasPostNorms = true
        c.slidingWindow = keys.int("attention.sliding_window") ?? 4096
        c.setSlidingPattern(keys, defaultPattern: 2)
        c.ropeBaseSliding = keys.float("rope.freq_base_swa") ?? c.ropeBase
        c.attentionSoftcap = try cap(keys, "attn_logit_softcapping", default: 50)
        c.finalLogitSoftcap = try cap(keys, "final_logit_softcapping", default: 30)
        // Gemma 2 27B (46 layers) scales queries by n_embd / n_head rather than the head size.
        if c.layerCount == 46 { c.attentionScale = 1 / Float(c.embeddingLength / c.headCount).squareRoot() }
    }

    private static func cap(_ keys: ArchitectureMetadata, _ suffix: String, default value: Float) throws -> Float {
        let cap = keys.float(suffix) ?? value
        guard cap > 0, cap.isFinite else { throw ModelError.invalidHyperparameter("\(keys.key(suffix)) = \(cap)") }
        return cap
    }
}
