/// SmolLM3: Llama's block, except that every fourth layer (3, 7, …) uses no RoPE at all.
enum SmolLM3: Architecture {
    static let name = "smollm3"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .normal
        c.activation = .silu
        c.ropeLayers = (0..<c.layerCount).map { ($0 + 1) % 4 != 0 }
    }
}
