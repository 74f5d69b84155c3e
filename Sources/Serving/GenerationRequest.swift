import Grammar
import Sampling

/// One generation task as the engine sees it: tokens and typed options, no JSON.
public struct GenerationRequest: Sendable {
    /// The prompt, already tokenized (BOS included when the caller wants it).
    public var promptTokens: [Int32]
    public var sampling: SamplingParameters
    /// Tokens to generate; -1 means until EOS/stop/context (bounded by the server's `-n`).
    public var predictLimit: Int
    /// Prompt tokens kept on a context shift; -1 keeps the whole prompt, nil the server's `--keep`.
    public var keepCount: Int?
    public var stopStrings: [String]
    /// Slot to run on, or nil for any idle slot.
    public var slotID: Int?
    /// Reuse the slot's cached prefix.
    public var cachePrompt: Bool
    /// The request's `lora`: a scale for every adapter id (ids it leaves out at 0), or nil for
    /// the server's current scales.
    public var adapterScales: [Float]? = nil
    /// Grammar that constrains the output, if any.
    public var grammar: Grammar?
    /// The grammar's source text, shown by /slots.
    public var grammarSource: String
    /// A lazy grammar's trigger: output is unconstrained until this text has been generated; the
    /// grammar then applies from the trigger's first byte on (tool calls with `tool_choice: auto`).
    public var grammarTrigger: String?
    /// A limit on thinking tokens, after which the engine forces the thinking block closed.
    public var reasoningBudget: ReasoningBudget?
    /// The original prompt text, shown by /slots.
    public var promptText: String
    /// Whether the client streams (shown by /slots).
    public var stream: Bool
    /// `return_progress`: send `.progress` events while the prompt is processed.
    public var reportsProgress = false
    /// `timings_per_token`: every `.token` event carries the timings so far.
    public var reportsTimings = false

    public init(promptTokens: [Int32], sampling: SamplingParameters = SamplingParameters(),
                predictLimit: Int = -1, keepCount: Int? = nil, stopStrings: [String] = [], slotID: Int? = nil,
                cachePrompt: Bool = false, grammar: Grammar? = nil, grammarSource: String = "",
                promptText: String = "", stream: Bool = false) {
        self.promptTokens = promptTokens
        self.sampling = sampling
        self.predictLimit = predictLimit
        self.keepCount = keepCount
        self.stopStrings = stopStrings
        self.slotID = slotID
        self.cachePrompt = cachePrompt
        self.grammar = grammar
        self.grammarSource = grammarSource
        self.promptText = promptText
        self.stream = stream
    }
}

/// The system prompt shared by every slot (`-spf`, or `system_prompt` at runtime).
public struct SystemPrompt: Sendable, Equatable {
    public var prompt: String
    /// The user's turn marker clients should stop on (reported by /props as `user_name`).
    public var antiPrompt: String
    /// The assistant's turn marker (reported by /props as `assistant_name`).
    public var assistantName: String

    public init(prompt: String = "", antiPrompt: String = "", assistantName: String = "") {
        self.prompt = prompt
        self.antiPrompt = antiPrompt
        self.assistantName = assistantName
    }
}
