import Foundation
import Sampling
import Tokenization

/// One of the `-np` parallel sequences: its cached tokens and, while busy, the task it runs.
/// Owned by the engine thread; never touched from elsewhere.
final class Slot {
    let id: Int
    /// Tokens whose keys/values are in the cache for sequence `id`, at positions 0..<count.
    var cachedTokens: [Int32] = []
    var task: ActiveGeneration?
    /// Self-extend's position bookkeeping while a generation runs with `--grp-attn-n` above 1;
    /// positions then differ from cache indices.
    var selfExtend: SelfExtend?

    init(id: Int) { self.id = id }

    var isIdle: Bool { task == nil }
}

/// A generation in progress on a slot.
final class ActiveGeneration {
    enum Phase { case ingestingPrompt, generating }

    let job: GenerationJob
    let sampler: SamplerChain
    let constraint: GrammarConstraint?
    var phase: Phase = .ingestingPrompt
    /// Full prompt (system prompt included).
    let prompt: [Int32]
    /// Next prompt index to feed.
    var promptCursor: Int
    let cachedCount: Int
    /// The sampled token not yet fed to the model.
    var pendingToken: Int32?
    var predicted = 0
    var truncated = false
    var detokenizer: StreamingDetokenizer
    var stopMatcher: StopStringMatcher
    /// Counts thinking tokens and forces the end of thinking (`reasoning_budget_tokens`), if limited.
    var reasoningBudget: ReasoningBudgetTracker?
    let predictLimit: Int
    let keepCount: Int
    let startTime: Date
    var firstTokenTime: Date?

    init(job: GenerationJob, sampler: SamplerChain, constraint: GrammarConstraint?, prompt: [Int32], cachedCount: Int,
         detokenizer: StreamingDetokenizer, predictLimit: Int, keepCount: Int) {
        self.job = job
        self.sampler = sampler
        self.constraint = constraint
        self.prompt = prompt
        self.promptCursor = cachedCount
        self.cachedCount = cachedCount
        self.detokenizer = detokenizer
        self.stopMatcher = StopStringMatcher(stopStrings: job.request.stopStrings)
        self.predictLimit = predictLimit
        self.keepCount = keepCount
        self.startTime = Date()
    }

    var remainingPrompt: Int { prompt.count - promptCursor }
}
