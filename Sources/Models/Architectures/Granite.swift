/// IBM Granite 3.x: Llama's block with four multipliers from the metadata: on the embeddings
/// (`embedding_scale`), on each block's output before the residual add (`residual_scale`), on
/// attention scores instead of 1/√head (`attention.scale`), and a divisor of the logits
/// (`logit_scale`, required as in llama.cpp).
enum Granite: Architecture {
    static let name = "granite"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .normal
        c.activation = .silu
        guard let logitScale = keys.float("logit_scale") else { throw ModelError.missingMetadata(key: keys.key("logit_scale")) }
        c.logitScale = logitScale
        if let s = keys.float("embedding_scale"), s != 0 { c.embeddingScale = s }
        if let s = keys.float("residual_scale"), s != 0 { c.residualScale = s }
        if let s = keys.float("attention.scale"), s != 0 { c.attentionScale = s }
        guard [c.logitScale, c.embeddingScale, c.residualScale, c.attentionScale].allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw ModelError.invalidHyperparameter("granite multipliers must be finite and non-zero")
        }
    }
}
