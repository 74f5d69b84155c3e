/// Qwen3: Qwen2's layout without the projection biases, plus an RMS norm of each query and key
/// head (one weight vector of head-dimension length each, shared by all heads) before RoPE.
enum Qwen3: Architecture {
    static let name = "qwen3"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .neox
        c.activation = .silu
        c.queryKeyNorm = .perHead
    }
}
