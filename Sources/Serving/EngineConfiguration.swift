import GGUF

/// How the engine divides the model's context and batches work (`-c`, `-np`, `-b`, `-n`, …).
public struct EngineConfiguration: Sendable, Equatable {
    /// Total context (`-c`), split evenly between slots as llama-server does.
    public var contextSize: Int
    /// Number of slots (`-np`).
    public var slotCount: Int
    /// The micro-batch, min(`-b`, `-ub`): most prompt rows in one forward pass (and most decode
    /// rows; a step may hold both).
    public var microBatchSize: Int
    /// The logical batch (`-b`). Only llama.cpp numerics use it: llama-server places its prompt
    /// cuts by it (PromptChunking), and those cuts decide llama.cpp's float orders.
    public var logicalBatchSize: Int
    /// Server-wide cap on generated tokens (`-n`); -1 means none.
    public var defaultPredictLimit: Int
    /// How `/embedding` pools token states.
    public var pooling: Pooling
    /// `-kvu`: each slot may use the whole context instead of `-c / -np`.
    public var unifiedContext = false
    /// `--context-shift` (default) or `--no-context-shift`: whether a slot whose context fills
    /// during generation discards old tokens and goes on, or stops there.
    public var contextShift = true
    /// `--cache-ram` in MiB: 0 keeps no prompts in host memory, -1 keeps them without limit.
    public var promptCacheMiB = 0
    /// `--grp-attn-n` / `--grp-attn-w`: self-extend (group attention) when the factor is above 1;
    /// the width must be a multiple of the factor. Such slots do not shift their context or reuse
    /// cached prompts (`SelfExtend`).
    public var groupAttentionFactor = 1
    public var groupAttentionWidth = 512
    /// `-ctk` / `-ctv`: the formats the KV cache stores keys and values in (f16, q8_0, q4_0).
    public var keyCacheType = GGMLType.f16
    public var valueCacheType = GGMLType.f16
    /// `--keep`: prompt tokens kept on a context shift by requests without `n_keep` (-1: all).
    public var defaultKeepCount = 0
    /// `-sp`/`--special`: generated text shows control tokens' text (end-of-generation tokens
    /// still end the generation without being shown).
    public var rendersSpecialTokens = false

    public init(contextSize: Int = 512, slotCount: Int = 1, microBatchSize: Int = 512,
                defaultPredictLimit: Int = -1, pooling: Pooling = .mean, logicalBatchSize: Int? = nil) {
        self.contextSize = contextSize
        self.slotCount = max(1, slotCount)
        self.microBatchSize = max(1, microBatchSize)
        self.logicalBatchSize = max(1, logicalBatchSize ?? microBatchSize)
        self.defaultPredictLimit = defaultPredictLimit
        self.pooling = pooling
    }

    /// Context of one slot: `-c / -np`, or all of `-c` with `-kvu`.
    public var slotContextSize: Int { unifiedContext ? contextSize : contextSize / slotCount }
}

/// How token hidden states become one embedding (`--pooling`).
public enum Pooling: String, Sendable, Equatable, CaseIterable {
    case none, mean, cls, last

    /// GGUF `<arch>.pooling_type`: 0 none, 1 mean, 2 cls, 3 last.
    public init?(ggufValue: Int) {
        switch ggufValue {
        case 0: self = .none
        case 1: self = .mean
        case 2: self = .cls
        case 3: self = .last
        default: return nil
        }
    }
}
