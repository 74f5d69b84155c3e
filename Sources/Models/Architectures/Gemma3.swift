/// Gemma 3: embeddings scaled by √n_embd, GELU, norms after each block as well as before,
/// per-head query/key norms, queries scaled before attention, and five sliding-window layers
/// (local RoPE base 10 000) for every global one.
enum Gemma3: Architecture {
    static let name = "gemma3"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .neox
        c.activation = .gelu
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.scalesQueries = true
        c.queryKeyNorm = .perHead
        c.hasPostNorms = true
        c.slidingWindow = keys.int("attention.sliding_window") ?? 512
        c.setSlidingPattern(keys, defaultPattern: 6)
        c.ropeBaseSliding = 10_000
    }
}
