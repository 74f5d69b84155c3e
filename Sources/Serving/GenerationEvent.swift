import Sampling

/// What a running generation reports, in order: tokens, then exactly one `finished` or `failed`.
public enum GenerationEvent: Sendable {
    case token(GeneratedToken)
    case finished(GenerationSummary)
    case failed(EngineError)
    /// Prompt processing advanced (only when the request asked with `reportsProgress`).
    case progress(PromptProgress)
}

/// How far a request's prompt has been processed (today's llama-server `prompt_progress`).
public struct PromptProgress: Sendable, Equatable {
    /// Prompt tokens in all.
    public var total: Int
    /// Tokens reused from the slot's cache.
    public var cached: Int
    /// Tokens in the cache so far (cached ones included).
    public var processed: Int
    /// Time since prompt processing started.
    public var milliseconds: Double
}

/// One sampled token and the text it released (empty while a partial stop string is held back
/// or a UTF-8 character is incomplete).
public struct GeneratedToken: Sendable {
    public var slotID: Int
    public var token: Int32
    public var text: String
    /// Present when the request asked for `n_probs` > 0.
    public var probabilities: TokenProbabilities?
    /// Timings up to this token, when the request asked with `reportsTimings`.
    public var timings: GenerationTimings?
    /// Prompt tokens reused from the slot's cache (with `timings`).
    public var cachedTokenCount = 0
}

/// Why generation ended.
public enum StopReason: Sendable, Equatable {
    /// The model produced an end-of-generation token.
    case endOfGeneration
    /// `n_predict` (or the server's `-n`) was reached, or the context could not make room.
    case limit
    /// A stop string matched; it is not part of the content.
    case word(String)
}

/// Timings in llama-server's `timings` shape.
public struct GenerationTimings: Sendable, Equatable {
    public var promptTokens: Int
    public var promptMilliseconds: Double
    public var predictedTokens: Int
    public var predictedMilliseconds: Double

    public init(promptTokens: Int, promptMilliseconds: Double, predictedTokens: Int, predictedMilliseconds: Double) {
        self.promptTokens = promptTokens
        self.promptMilliseconds = promptMilliseconds
        self.predictedTokens = predictedTokens
        self.predictedMilliseconds = predictedMilliseconds
    }

    public var promptPerTokenMilliseconds: Double { promptTokens > 0 ? promptMilliseconds / Double(promptTokens) : 0 }
    public var promptPerSecond: Double { promptMilliseconds > 0 ? 1000 * Double(promptTokens) / promptMilliseconds : 0 }
    /// The first generated token comes from the last prompt batch's logits, so
    /// `predictedMilliseconds` covers `predictedTokens - 1` decode steps; the rates are per step,
    /// as today's llama-server reports them (0 when there was no decode step).
    private var decodeSteps: Int { max(0, predictedTokens - 1) }
    public var predictedPerTokenMilliseconds: Double {
        decodeSteps > 0 ? predictedMilliseconds / Double(decodeSteps) : 0
    }
    public var predictedPerSecond: Double {
        decodeSteps > 0 && predictedMilliseconds > 0 ? 1e3 / predictedMilliseconds * Double(decodeSteps) : 0
    }
}

/// The end of a generation: counts, reason, and any text that was held back until now.
public struct GenerationSummary: Sendable {
    public var taskID: Int
    public var slotID: Int
    public var stopReason: StopReason
    /// Text released only at the end (a partial stop-string match that never completed).
    public var trailingText: String
    /// Prompt tokens of the request (system prompt included).
    public var promptTokenCount: Int
    /// Prompt tokens reused from the slot's cache (`tokens_cached`).
    public var cachedTokenCount: Int
    public var predictedTokenCount: Int
    /// A context shift discarded tokens during generation.
    public var truncated: Bool
    public var timings: GenerationTimings
    /// The seed the sampler actually used.
    public var seed: UInt64
}

/// Problems the engine reports; each says what the caller should change.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    case promptTooLong(tokens: Int, contextSize: Int)
    case emptyPrompt
    case invalidSlot(Int, slotCount: Int)
    case invalidSampling(field: String, message: String)
    case embeddingsDisabled
    /// A completion asked of an encoder (BERT family), which only makes embeddings.
    case embeddingModelOnly(architecture: String)
    /// A bidirectional model's input must fit one micro-batch (`-ub`), as in llama.cpp.
    case inputExceedsMicroBatch(tokens: Int, microBatchSize: Int)
    /// An input longer than the model's absolute position embeddings (BERT's training context).
    case inputExceedsPositions(tokens: Int, positions: Int)
    case modelFailure(String)
    case slotBusy(Int)
    case slotFile(String)
    /// The request's grammar could not be matched within its work budget
    /// (`GrammarMatcher.maxWorkPerStep`): a grammar too ambiguous to decide the next token.
    case grammarFailure(String)
    case stopped
    /// The caller gave the work up (its client went away) before it was done.
    case cancelled

    public var description: String {
        switch self {
        case .promptTooLong(let n, let ctx):
            "the request exceeds the available context size: the prompt has \(n) tokens and a slot's context is \(ctx) tokens (raise -c or shorten the prompt)"
        case .emptyPrompt: "the prompt is empty"
        case .invalidSlot(let id, let count): "invalid slot id \(id): this server has \(count) slot(s) (ids 0…\(count - 1))"
        case .invalidSampling(let field, let message): "invalid value for \(field): \(message)"
        case .embeddingsDisabled: "this server does not support embeddings: start it with --embedding"
        case .embeddingModelOnly(let arch):
            "this model (\(arch)) is an embedding model and cannot generate text: use /embedding or /v1/embeddings (start the server with --embedding)"
        case .inputExceedsMicroBatch(let n, let ub):
            "input (\(n) tokens) is too large to process: increase the physical batch size -ub (current: \(ub))"
        case .inputExceedsPositions(let n, let positions):
            "input (\(n) tokens) is longer than this model's \(positions) position embeddings: shorten it"
        case .modelFailure(let m): "inference failed: \(m)"
        case .slotBusy(let id): "slot \(id) is busy"
        case .slotFile(let m): m
        case .grammarFailure(let m): "grammar failed: \(m)"
        case .stopped: "the server is shutting down"
        case .cancelled: "the request was cancelled"
        }
    }
}
