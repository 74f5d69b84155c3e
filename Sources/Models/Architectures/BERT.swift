/// BERT (and the models converted as `bert`: BGE, MiniLM, …): an encoder. Token, token-type
/// (row 0) and absolute position embeddings summed and LayerNormed; in each layer q/k/v/o with
/// biases, attention over the whole sequence, then x = LN(x + attention), x = LN(x + MLP) with
/// a GELU MLP with biases; no RoPE. Pooling comes from `bert.pooling_type`.
enum BERT: Architecture {
    static let name = "bert"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        try c.setEncoder(keys)
        c.activation = .gelu
        c.gatedFeedForward = false
        c.ropeLayers = Array(repeating: false, count: c.layerCount)
    }
}

/// nomic-bert (nomic-embed-text v1/v1.5): BERT's post-LN encoder without position embeddings,
/// with NeoX RoPE on queries and keys, a fused query/key/value projection and a SwiGLU MLP.
enum NomicBERT: Architecture {
    static let name = "nomic-bert"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        try c.setEncoder(keys)
        c.ropeLayout = .neox
        c.activation = .silu
    }
}

extension ModelConfiguration {
    /// The choices the BERT family shares: an encoder with LayerNorms (epsilon from
    /// `attention.layer_norm_epsilon`, required as in llama.cpp) after each residual add and a
    /// token-type embedding whose size the tokenizer metadata gives.
    mutating func setEncoder(_ keys: ArchitectureMetadata) throws {
        isEncoder = true
        normKind = .layer
        normalizesResiduals = true
        normalizesBlockInputs = false
        causalAttention = keys.metadata.bool(keys.key("attention.causal")) ?? true
        guard let eps = keys.float("attention.layer_norm_epsilon") else {
            throw ModelError.missingMetadata(key: keys.key("attention.layer_norm_epsilon"))
        }
        guard eps >= 0, eps.isFinite else { throw ModelError.invalidHyperparameter("\(keys.key("attention.layer_norm_epsilon")) = \(eps)") }
        rmsEpsilon = eps
        guard let types = keys.metadata.int("tokenizer.ggml.token_type_count"), types > 0, types <= 1 << 16 else {
            throw ModelError.invalidHyperparameter("\(architecture) needs tokenizer.ggml.token_type_count (1 … 65536)")
        }
        tokenTypeCount = types
    }
}
