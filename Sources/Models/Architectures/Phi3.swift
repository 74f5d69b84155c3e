/// Phi-3 and Phi-3.5: fused query/key/value and gate/up projections (split at load in
/// `ModelWeights`), NeoX RoPE with LongRoPE per-dimension divisors (`rope_factors_long` when a
/// sequence may outgrow `rope.scaling.original_context_length`, else `rope_factors_short`)
/// and a cos/sin multiplier (`rope.scaling.attn_factor`), and queries scaled before attention.
/// Its `sliding_window` key is ignored, as llama.cpp ignores it.
enum Phi3: Architecture {
    static let name = "phi3"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .neox
        c.activation = .silu
        c.scalesQueries = true
    }
}
