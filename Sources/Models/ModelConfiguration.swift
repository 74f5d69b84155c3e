import GGUF
import CriaNumerics

/// The hyper-parameters of a transformer, read from GGUF metadata with llama.cpp's defaults
/// where a key is absent, plus the per-architecture choices (norm placement, activation, RoPE
/// layout and factors, sliding windows, soft-caps, multipliers) that the shared forward pass
/// follows. Each architecture sets its choices in its own file under `Architectures/`.
public struct ModelConfiguration: Sendable, Equatable {
    /// Every `general.architecture` Cria can run, in the order an error message lists them.
    public static var supportedArchitectures: [String] { Architectures.all.map { $0.name }.sorted() }

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
    /// Linear RoPE scaling factor for global layers (1 = none); angles are divided by it.
    public var ropeScale: Float
    /// Multiplier on RoPE's cos and sin (llama.cpp's `attn_factor`: `rope.scaling.attn_factor`).
    public var ropeAttentionFactor: Float = 1
    /// The training context that per-dimension LongRoPE factors are chosen against: the long
    /// factors apply when a sequence may grow beyond it (`rope.scaling.original_context_length`).
    public var ropeOriginalContext: Int
    /// YaRN's angle blend and magnitude on global layers (`rope.scaling.type yarn` with a factor > 1).
    public var ropeYaRN: RoPE.YaRN?
    /// RoPE base used on sliding-window layers.
    public var ropeBaseSliding: Float
    /// Scaling on sliding-window layers: none by default (Gemma); gpt-oss scales them as its
    /// global layers (its YaRN then computed for the sliding base).
    public var ropeScaleSliding: Float = 1
    public var ropeAttentionFactorSliding: Float = 1
    public var ropeYaRNSliding: RoPE.YaRN?
    /// Which layers rotate queries and keys at all (SmolLM3 leaves every fourth layer unrotated).
    public var ropeLayers: [Bool]
    public var slidingWindow: Int?
    /// Which layers use the sliding window.
    public var slidingLayers: [Bool]

    public var activation: Activation
    /// Multiplier applied to token embeddings (√n_embd for Gemma, `embedding_scale` for Granite).
    public var embeddingScale: Float
    public var attentionScale: Float
    /// Gemma and Phi-3 multiply the (rotated) queries by `attentionScale` before attention instead
    /// of scaling the scores, as llama.cpp's graphs do; the f16 rounding of q differs slightly.
    public var scalesQueries = false
    /// Attention scores become cap·tanh(score/cap) (Gemma 2); nil for none.
    public var attentionSoftcap: Float?
    /// Logits become cap·tanh(logit/cap) (Gemma 2); nil for none.
    public var finalLogitSoftcap: Float?
    /// Each block's output is multiplied by this before it joins the residual stream (Granite).
    public var residualScale: Float = 1
    /// Logits are divided by this (Granite's `logit_scale`).
    public var logitScale: Float = 1
    /// Whether a block's input is normalized (`attn_norm`, `ffn_norm`); OLMo 2 normalizes only
    /// the block outputs.
    public var normalizesBlockInputs = true
    /// How queries and keys are normalized before RoPE, if at all.
    public var queryKeyNorm: QueryKeyNorm?
    /// Gemma's and OLMo 2's extra norms after attention and after the feed-forward block.
    public var hasPostNorms: Bool
    /// The feed-forward block's input norm tensor (`blk.N.<name>.weight`): `ffn_norm`, or
    /// `post_attention_norm` where a file names it so (gpt-oss).
    public var ffnNormTensor = "ffn_norm"
    /// Learned per-head attention sinks (`blk.N.attn_sinks.weight`, gpt-oss).
    public var hasAttentionSinks = false
    /// The mixture-of-experts feed-forward block (routing, expert count and width) that replaces
    /// the dense one in every layer; nil for dense models.
    public var experts: ExpertConfiguration?

    /// Bidirectional encoders (BERT, nomic-bert): token-type (and absolute position) embeddings
    /// with a norm, LayerNorms after each residual add, no LM head and no final norm; they make
    /// embeddings only, never text.
    public var isEncoder = false
    /// Whether a row sees only earlier positions of its sequence (`attention.causal`, default true
    /// as in llama.cpp); without it every row sees the whole sequence, which must then arrive in
    /// one batch.
    public var causalAttention = true
    /// Which norm every norm step computes: RMS, or LayerNorm with a bias (the BERT family, whose
    /// `attention.layer_norm_epsilon` is then `rmsEpsilon`).
    public var normKind = NormKind.rms
    /// BERT's post-LN: a block's output joins the residual stream and the sum is normalized
    /// (x = norm(x + f(x))) instead of normalizing inputs or outputs.
    public var normalizesResiduals = false
    /// act(gate)·up (SwiGLU, GEGLU) or, without a gate, act(up) (BERT's GELU MLP).
    public var gatedFeedForward = true
    /// Rows of the `token_types` embedding (`tokenizer.ggml.token_type_count`); 0 for decoders.
    public var tokenTypeCount = 0

    public enum NormKind: Sendable, Equatable { case rms, layer }

    /// Query/key RMS norms: one weight vector shared by every head (Gemma 3, Qwen3), or one over
    /// the whole query and key rows (OLMo 2).
    public enum QueryKeyNorm: Sendable, Equatable { case perHead, wholeRow }

    public var kvDimension: Int { headCountKV * headDimension }
    public var queryDimension: Int { headCount * headDimension }

    public init(metadata m: GGUFMetadata, vocabularySize: Int) throws {
        guard let arch = m.string("general.architecture") else {
            throw ModelError.missingMetadata(key: "general.architecture")
        }
        guard let description = Architectures.named(arch) else { throw ModelError.unsupportedArchitecture(arch) }
        let keys = ArchitectureMetadata(metadata: m, architecture: arch)
        architecture = arch
        embeddingLength = try keys.required("embedding_length")
        layerCount = try keys.required("block_count")
        feedForwardLength = try keys.required("feed_forward_length")
        headCount = try keys.required("attention.head_count")
        headCountKV = (try? keys.required("attention.head_count_kv")) ?? headCount
        // (bounded so that products of these, e.g. heads × head size, cannot overflow)
        guard embeddingLength > 0, embeddingLength <= 1 << 20, layerCount > 0, layerCount <= 4096,
              headCount > 0, headCount <= 1 << 16, headCountKV > 0, headCount % headCountKV == 0,
              feedForwardLength > 0, feedForwardLength <= 1 << 24 else {
            throw ModelError.invalidHyperparameter("layers \(layerCount), heads \(headCount)/\(headCountKV), "
                + "width \(embeddingLength), feed-forward \(feedForwardLength)")
        }
        headDimension = keys.int("attention.key_length") ?? embeddingLength / headCount
        valueDimension = keys.int("attention.value_length") ?? headDimension
        guard headDimension > 0, headDimension <= 1 << 16, headDimension % 2 == 0, valueDimension == headDimension else {
            throw ModelError.invalidHyperparameter("key length \(headDimension), value length \(valueDimension)")
        }
        rmsEpsilon = keys.float("attention.layer_norm_rms_epsilon") ?? 1e-5
        contextLength = keys.int("context_length") ?? 4096
        self.vocabularySize = vocabularySize
        ropeDimensions = keys.int("rope.dimension_count") ?? headDimension
        guard ropeDimensions >= 0, ropeDimensions <= headDimension, ropeDimensions % 2 == 0 else {
            throw ModelError.invalidHyperparameter("rope dimension count \(ropeDimensions) with head dimension \(headDimension)")
        }
        ropeBase = keys.float("rope.freq_base") ?? 10_000
        ropeScale = try Self.ropeScale(keys)
        ropeAttentionFactor = keys.float("rope.scaling.attn_factor") ?? 1
        ropeOriginalContext = keys.int("rope.scaling.original_context_length") ?? contextLength
        ropeBaseSliding = ropeBase
        ropeLayers = Array(repeating: true, count: layerCount)
        slidingWindow = nil
        slidingLayers = Array(repeating: false, count: layerCount)
        ropeLayout = .normal
        activation = .silu
        embeddingScale = 1
        attentionScale = 1 / Float(headDimension).squareRoot()
        hasPostNorms = false
        setGlobalYaRN(keys.string("rope.scaling.type") == "yarn")
        try description.configure(&self, keys)
        // Mixtral-style files share a dense architecture's name but route tokens through experts.
        if experts == nil, let count = keys.int("expert_count"), count > 0 {
            throw ModelError.invalidHyperparameter("\(arch) with \(count) experts: mixture-of-experts models are not supported")
        }
    }

    /// YaRN on global layers, for `ropeScale` and `ropeOriginalContext` as they are now: when
    /// `enabled` with a factor above 1, the blend and magnitude, and llama.cpp's attention factor
    /// (its magnitude divided out again, since the magnitude is applied inside the rotation).
    private mutating func setGlobalYaRN(_ enabled: Bool, betaFast: Float = 32, betaSlow: Float = 1,
                                        extrapolationFactor: Float = 1) {
        ropeYaRN = nil
        guard enabled, ropeScale > 1, extrapolationFactor != 0 else { return }
        var yarn = RoPE.YaRN(dims: ropeDimensions, originalContext: ropeOriginalContext, base: ropeBase, factor: ropeScale,
                             betaFast: betaFast, betaSlow: betaSlow)
        yarn.extrapolationFactor = extrapolationFactor
        ropeYaRN = yarn
        let magnitude = RoPE.YaRN.magnitude(ropeScale)
        ropeAttentionFactor = magnitude * (1 / magnitude) * ropeAttentionFactor
    }

    /// Applies `--rope-*`/`--yarn-*` to the global layers, as llama.cpp's context parameters
    /// override the file's: sliding-window layers keep the file's values there too.
    public mutating func apply(_ o: RoPEOverride, metadata m: GGUFMetadata) {
        guard !o.isEmpty else { return }
        let keys = ArchitectureMetadata(metadata: m, architecture: architecture)
        let type = o.scalingType ?? keys.string("rope.scaling.type") ?? "linear"
        if let base = o.freqBase { ropeBase = base }
        if let factor = o.scaleFactor { ropeScale = factor }
        if type == "none" { ropeScale = 1 }
        if let context = o.yarnOriginalContext { ropeOriginalContext = context }
        ropeAttentionFactor = o.yarnAttentionFactor ?? keys.float("rope.scaling.attn_factor") ?? 1
        setGlobalYaRN(type == "yarn", betaFast: o.yarnBetaFast ?? 32, betaSlow: o.yarnBetaSlow ?? 1,
                      extrapolationFactor: o.yarnExtrapolationFactor ?? 1)
    }

    /// The factor RoPE angles are divided by, as llama.cpp reads `rope.scaling.*`: for the linear,
    /// LongRoPE and YaRN types (YaRN then blends, see `ropeYaRN`), never for `none`.
    private static func ropeScale(_ keys: ArchitectureMetadata) throws -> Float {
        let type = keys.string("rope.scaling.type") ?? "linear"
        let factor = keys.float("rope.scaling.factor") ?? keys.float("rope.scale_linear") ?? 0
        switch type {
        case "none": return 1
        case "linear", "longrope", "yarn":
            guard factor.isFinite, factor >= 0 else { throw ModelError.invalidHyperparameter("RoPE scaling factor \(factor)") }
            return factor > 0 ? factor : 1
        default:
            throw ModelError.invalidHyperparameter("unknown RoPE scaling type '\(type)'")
        }
    }

    /// Marks layers as sliding-window layers from `attention.sliding_window_pattern` as llama.cpp
    /// reads it: a per-layer bool array, or n meaning every n-th layer is global (the others
    /// slide), with `defaultPattern` when the key is absent.
    mutating func setSlidingPattern(_ keys: ArchitectureMetadata, defaultPattern: Int) {
        if let flags = keys.boolArray("attention.sliding_window_pattern") {
            slidingLayers = (0..<layerCount).map { $0 < flags.count && flags[$0] }
            return
        }
        let pattern = keys.int("attention.sliding_window_pattern") ?? defaultPattern
        slidingLayers = (0..<layerCount).map { pattern <= 0 || $0 % pattern < pattern - 1 }
    }
}

/// llama.cpp's RoPE context parameters (`--rope-freq-base`, `--rope-scale`/`--rope-freq-scale`,
/// `--rope-scaling`, `--yarn-*`): each set one replaces what the model file says; nil keeps it.
public struct RoPEOverride: Sendable, Equatable {
    public var freqBase: Float?
    /// The factor angles are divided by (`--rope-scale`, or 1 / `--rope-freq-scale`).
    public var scaleFactor: Float?
    /// `none`, `linear` or `yarn`.
    public var scalingType: String?
    public var yarnOriginalContext: Int?
    public var yarnExtrapolationFactor: Float?
    public var yarnAttentionFactor: Float?
    public var yarnBetaSlow: Float?
    public var yarnBetaFast: Float?

    public init() {}

    public var isEmpty: Bool { self == RoPEOverride() }
}
