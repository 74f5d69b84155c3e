import Foundation
import Grammar
import Models
import Sampling
import Tokenization

/// The inference engine: `-np` slots sharing one model and one KV cache, a task queue, and ONE
/// inference thread whose loop batches every active slot into each forward pass.
///
/// HTTP handlers call `submit` (and the other async entry points) from any thread; everything
/// else — slots, cache, samplers — belongs to the engine thread. Events flow back through the
/// `AsyncStream` of each submission. See `Engine+Loop.swift` for the loop's steps.
public final class Engine: @unchecked Sendable {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let configuration: EngineConfiguration
    let cache: KVCache
    let slots: [Slot]
    let grammarVocabulary: TokenVocabulary
    let samplerVocabulary: VocabularyInfo

    /// Guards `queue`, `systemPrompt`, `running`, `nextTaskID` and the published `status`.
    let condition = NSCondition()
    var queue: [EngineTask] = []
    var systemPromptState = SystemPrompt()
    var systemTokens: [Int32] = []
    var running = false
    /// Set by `endAllGenerations` (the end of a graceful shutdown's grace period).
    var endingAll = false
    var nextTaskID = 0
    var published: EngineStatus
    /// Counters for /metrics, owned by the engine thread; copied to `publishedCounters` each step.
    var counters = EngineCounters()
    var publishedCounters = EngineCounters()
    /// The last finished request of each slot (shown by /slots), owned by the engine thread.
    var lastFinished: [Int: (GenerationRequest, Int, StopReason)] = [:]
    /// `--cache-ram`, owned by the engine thread; nil when disabled.
    let promptCache: PromptRAMCache?
    /// The LoRA scales of requests that name none (`--lora`, `POST /lora-adapters`), one per
    /// adapter id; guarded by `condition`, read when a generation starts.
    var defaultAdapterScales: [Float]
    private var thread: Thread?

    /// Throws when the model cannot use the configured KV cache formats.
    public init(model: TransformerModel, tokenizer: Tokenizer, configuration: EngineConfiguration) throws(ModelError) {
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        // Every slot may fill its cells (with -kvu each may take all of -c), so all of them must fit.
        cache = try model.makeCache(capacity: configuration.slotContextSize, keyType: configuration.keyCacheType,
                                    valueType: configuration.valueCacheType, sequences: configuration.slotCount)
        slots = (0..<configuration.slotCount).map(Slot.init)
        promptCache = configuration.promptCacheMiB != 0 ? PromptRAMCache(limitMiB: configuration.promptCacheMiB) : nil
        let vocab = tokenizer.vocabulary
        let eos = Array(vocab.endOfGeneration).sorted()
        grammarVocabulary = GrammarConstraint.vocabulary(for: tokenizer)
        samplerVocabulary = VocabularyInfo(size: model.config.vocabularySize, eosTokens: eos, newlineToken: vocab.nl)
        defaultAdapterScales = model.adapterScales
        published = EngineStatus(slots: (0..<configuration.slotCount).map { SlotStatus.idle(id: $0) }, deferred: 0)
    }

    /// Tokens one slot can hold.
    public var slotContextSize: Int { configuration.slotContextSize }

    /// Bytes the KV cells of one full slot take in the configured formats (`-ctk`/`-ctv`).
    public var kvBytesPerSlot: Int { cache.bytesPerSequence }

    /// Starts the inference thread.
    public func start() {
        condition.withLock {
            guard !running else { return }
            running = true
            // Weak: the engine keeps its Thread, which must not keep the engine once the loop ends.
            let t = Thread { [weak self] in self?.runLoop() }
            t.name = "cria-inference"
            t.stackSize = 16 << 20
            thread = t
            t.start()
        }
    }

    /// Stops the loop after the current step; queued and running tasks fail with `.stopped`.
    public func stop() {
        condition.withLock {
            running = false
            condition.broadcast()
        }
    }

    // MARK: - Submitting work

    /// Queues a generation. Validation problems throw at once; everything later arrives as events.
    /// Cancelling the consumer of `events` (or calling `cancel`) frees the slot at the next step.
    public func submit(_ request: GenerationRequest) throws(EngineError) -> GenerationHandle {
        if isEndingAll { throw .stopped }
        if model.config.isEncoder { throw .embeddingModelOnly(architecture: model.config.architecture) }
        if let id = request.slotID, !(0..<slots.count).contains(id) {
            throw .invalidSlot(id, slotCount: slots.count)
        }
        do { try request.sampling.validate(vocabularySize: samplerVocabulary.size) } catch {
            throw .invalidSampling(field: error.field, message: error.description)
        }
        if let problem = request.reasoningBudget?.problem {
            throw .invalidSampling(field: "reasoning_budget_tokens", message: problem)
        }
        let systemCount = condition.withLock { systemTokens.count }
        let total = systemCount + request.promptTokens.count
        if total == 0 { throw .emptyPrompt }
        // A longer prompt is truncated when it starts (keeping n_keep), as the spec's server does;
        // without context shift it is refused, as today's llama-server does.
        if total >= slotContextSize && (slotContextSize < 2 || !configuration.contextShift) {
            throw .promptTooLong(tokens: total, contextSize: slotContextSize)
        }

        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream(bufferingPolicy: .unbounded)
        let job: GenerationJob = condition.withLock {
            nextTaskID += 1
            return GenerationJob(id: nextTaskID, request: request, continuation: continuation)
        }
        continuation.onTermination = { [weak self] _ in
            job.cancel()
            self?.wake()
        }
        enqueue(.generate(job))
        return GenerationHandle(taskID: job.id, events: stream, job: job)
    }

    /// Pools the final hidden states of `tokens` (one vector, or one per token with `.none`).
    /// `isCancelled` is asked while the job waits and between its chunks; once it says true the
    /// job ends with `.cancelled` (a long input otherwise held the engine for its client's sake
    /// after the client had gone).
    public func embed(_ tokens: [Int32], pooling: Pooling? = nil,
                      isCancelled: @escaping @Sendable () -> Bool = { false }) async throws(EngineError) -> [[Float]] {
        if tokens.isEmpty { throw .emptyPrompt }
        if tokens.count > slotContextSize { throw .promptTooLong(tokens: tokens.count, contextSize: slotContextSize) }
        // Rows that attend both ways see only what shares their batch, so the input runs as one.
        if !model.config.causalAttention && tokens.count > configuration.microBatchSize {
            throw .inputExceedsMicroBatch(tokens: tokens.count, microBatchSize: configuration.microBatchSize)
        }
        if let positions = model.weights.encoderInput?.positions, tokens.count > positions.rows {
            throw .inputExceedsPositions(tokens: tokens.count, positions: positions.rows)
        }
        let pooling = pooling ?? configuration.pooling
        let result: Result<[[Float]], EngineError> = await withCheckedContinuation { c in
            enqueue(.embed(EmbeddingJob(tokens: tokens, pooling: pooling, isCancelled: isCancelled) { c.resume(returning: $0) }))
        }
        return try result.get()
    }

    /// Saves, restores or erases a slot's cache; waits until the slot is idle.
    public func performSlotAction(slot: Int, _ action: SlotAction) async throws(EngineError) -> SlotActionResult {
        guard (0..<slots.count).contains(slot) else { throw .invalidSlot(slot, slotCount: slots.count) }
        let jobAction: SlotActionJob.Action = switch action {
        case .save(let path): .save(path: path)
        case .restore(let path): .restore(path: path)
        case .erase: .erase
        }
        let result: Result<SlotActionResult, EngineError> = await withCheckedContinuation { c in
            enqueue(.slotAction(SlotActionJob(slotID: slot, action: jobAction) { c.resume(returning: $0) }))
        }
        return try result.get()
    }

    /// Replaces the system prompt every slot's prompt starts with. New tasks see it at once.
    public func setSystemPrompt(_ prompt: SystemPrompt) {
        let tokens = prompt.prompt.isEmpty ? [] : tokenizer.tokenize(prompt.prompt, addSpecial: true, parseSpecial: true)
        condition.withLock {
            systemPromptState = prompt
            systemTokens = tokens
        }
    }

    /// The current system prompt.
    public var systemPrompt: SystemPrompt { condition.withLock { systemPromptState } }

    /// Whether requests get a BOS from their own tokenization (false while a system prompt is set).
    public var hasSystemPrompt: Bool { condition.withLock { !systemTokens.isEmpty } }

    /// Slot states and queue length as of the last step.
    public func status() -> EngineStatus { condition.withLock { published } }

    /// Totals for /metrics.
    public func metrics() -> EngineMetrics {
        condition.withLock {
            let used = published.cachedTokenTotal
            return EngineMetrics(counters: publishedCounters, cacheTokens: used,
                                 cacheUsage: Double(used) / Double(max(1, slotContextSize * slots.count)),
                                 processing: published.slots.filter(\.isProcessing).count,
                                 deferred: published.deferred)
        }
    }

    // MARK: - Queue

    private func enqueue(_ task: EngineTask) {
        condition.withLock {
            queue.append(task)
            condition.broadcast()
        }
    }

    func wake() {
        condition.withLock { condition.broadcast() }
    }
}

/// What `performSlotAction` does.
public enum SlotAction: Sendable, Equatable {
    case save(path: String)
    case restore(path: String)
    case erase
}

/// A submitted generation: its events, and a way to cancel it.
public struct GenerationHandle: Sendable {
    public let taskID: Int
    public let events: AsyncStream<GenerationEvent>
    let job: GenerationJob

    /// Stops the task; its slot is freed at the engine's next step.
    public func cancel() {
        job.cancel()
        job.continuation.finish()
    }
}
