import GGUF
import CriaNumerics

/// The hyper-parameters of a transformer, read from GGUF metadata with llama.cpp's defaults
/// where a key is absent, plus the per-architecture choices (norm placement, activation, RoPE
/// layout, sliding windows) that the shared forward pass follows.
public struct ModelConfiguration: Sendable, Equatable {
    public static let supportedArchitectures = ["gemma3", "llama", "qwen2"]

    public var architecture: String
    public var embeddingLength: Int
    public var layerCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDimension: Int
    public var valueDimension: Int
    public var rmsEpsilon: Float
    public var contextLength: Int
    public var vocabularySize: Int

    public var ropeLayout: RoPE.Layout
    public var ropeDimensions: Int
    public var ropeBase: Float
    /// Linear RoPE scaling factor for global layers (1 = none).
    public var ropeScale: Float
    /// RoPE base used on sliding-window layers.
    public var ropeBaseSliding: Float
    public var slidingWindow: Int?
    /// Which layers use the sliding window.
    public var slidingLayers: [Bool]

    public var activation: Activation
    /// Multiplier applied to token embeddings (√n_embd for Gemma).
    public var embeddingScale: Float
    public var attentionScale: Float
    /// Gemma multiplies the (rotated) queries by `attentionScale` before attention instead of
    /// scaling the scores, as llama.cpp's graph does; the f16 rounding of q differs slightly.
    public var scalesQueries = false
    public var hasQKNorm: Bool
    /// Gemma's extra norms after attention and after the feed-forward block.
    public var hasPostNorms: Bool

    public var kvDimension: Int { headCountKV * headDimension }
    public var queryDimension: Int { headCount * headDimension }

    public init(metadata m: GGUFMetadata, vocabularySize: Int) throws {
        guard let arch = m.string("general.architecture") else {
            throw ModelError.missingMetadata(key: "general.architecture")
        }
        guard Self.supportedArchitectures.contains(arch) else { throw ModelError.unsupportedArchitecture(arch) }
        func req(_ suffix: String) throws -> Int {
            let key = "\(arch).\(suffix)"
            if let v = m.int(key) { return v }
            if let arr = m.intArray(key), let first = arr.first { return first }
            throw ModelError.missingMetadata(key: key)
        }
        architecture = arch
        embeddingLength = try req("embedding_length")
        layerCount = try req("block_count")
        feedForwardLength = try req("feed_forward_length")
        headCount = try req("attention.head_count")
        headCountKV = (try? req("attention.head_count_kv")) ?? headCount
        guard embeddingLength > 0, layerCount > 0, headCount > 0, headCountKV > 0, headCount % headCountKV == 0 else {
            throw ModelError.invalidHyperparameter("heads \(headCount)/\(headCountKV), width \(embeddingLength)")
        }
        headDimension = m.int("\(arch).attention.key_length") ?? embeddingLength / headCount
        valueDimension = m.int("\(arch).attention.value_length") ?? headDimension
        guard valueDimension == headDimension else {
            throw ModelError.invalidHyperparameter("key length \(headDimension) ≠ value length \(valueDimension)")
        }
        rmsEpsilon = m.float("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5
        contextLength = m.int("\(arch).context_length") ?? 4096
        self.vocabularySize = vocabularySize
        ropeDimensions = m.int("\(arch).rope.dimension_count") ?? headDimension
        ropeBase = m.float("\(arch).rope.freq_base") ?? 10_000
        if m.string("\(arch).rope.scaling.type") == "linear", let f = m.float("\(arch).rope.scaling.factor"), f > 0 {
            ropeScale = f
        } else {
            ropeScale = 1
        }
        ropeBaseSliding = ropeBase
        slidingWindow = nil
        slidingLayers = Array(repeating: false, count: layerCount)

        switch arch {
        case "gemma3":
            ropeLayout = .neox
            activation = .gelu
            embeddingScale = Float(embeddingLength).squareRoot()
            attentionScale = 1 / Float(headDimension).squareRoot()
            scalesQueries = true
            hasQKNorm = true
            hasPostNorms = true
            // Gemma 3: five sliding-window layers then one global layer; local RoPE base 10 000.
            slidingWindow = m.int("gemma3.attention.sliding_window") ?? 512
            let pattern = m.int("gemma3.attention.sliding_window_pattern") ?? 6
            slidingLayers = (0..<layerCount).map { pattern > 0 && ($0 + 1) % pattern != 0 }
            ropeBaseSliding = 10_000
        case "qwen2":
            ropeLayout = .neox
            activation = .silu
            embeddingScale = 1
            attentionScale = 1 / Float(headDimension).squareRoot()
            hasQKNorm = false
            hasPostNorms = false
        default:  // llama
            ropeLayout = .normal
            activation = .silu
            embeddingScale = 1
            attentionScale = 1 / Float(headDimension).squareRoot()
            hasQKNorm = false
            hasPostNorms = false
        }
    }
}
