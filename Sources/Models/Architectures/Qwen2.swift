/// Qwen2 and Qwen2.5: Llama's blocks with biases on the query, key and value projections
/// (bound when present) and RoPE on split halves (NeoX layout).
enum Qwen2: Architecture {
    static let name = "qwen2"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .neox
        c.activation = .silu
    }
}
