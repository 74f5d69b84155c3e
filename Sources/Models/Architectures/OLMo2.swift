/// OLMo 2: no norm before a block, an RMS norm after each (attention and feed-forward) before
/// the residual add, and RMS norms over the whole query and key rows (all heads at once) before
/// NeoX RoPE. With `attention.sliding_window` (OLMo 3) three layers in four slide, and those
/// use plain RoPE.
enum OLMo2: Architecture {
    static let name = "olmo2"

    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws {
        c.ropeLayout = .neox
        c.activation = .silu
        c.normalizesBlockInputs = false
        c.hasPostNorms = true
        c.queryKeyNorm = .wholeRow
        if let window = keys.int("attention.sliding_window"), window > 0 {
            c.slidingWindow = window
            c.setSlidingPattern(keys, defaultPattern: 4)
            c.ropeBaseSliding = keys.float("rope.freq_base_swa") ?? c.ropeBase
        }
    }
}
