import Foundation
import Models
import Sampling

/// The inference loop. Each iteration is a short list of named steps:
/// end everything when shutting down → admit queued tasks → drop cancelled ones → make room in full contexts → build one batch from
/// every active slot → run it → sample each slot that got logits → publish status.
extension Engine {
    func runLoop() {
        while waitForWork() {
            endGenerationsWhenEnding()
            admitQueuedTasks()
            dropCancelledTasks()
            makeRoomInFullContexts()
            rearrangeGroupedPositions()
            let (batch, logitSlots) = buildBatch()
            if batch.count > 0 { runBatch(batch, logitSlots: logitSlots) }
            publishStatus()
        }
        failEverything()
    }

    /// Sleeps until there is something to do; false once the engine is stopped.
    private func waitForWork() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while running && slots.allSatisfy(\.isIdle) && !hasAdmissibleTask() {
            condition.wait()
        }
        return running
    }

    /// Whether some queued task could start now (called with the lock held).
    private func hasAdmissibleTask() -> Bool {
        queue.contains { task in
            if let id = task.requiredSlot { return slots[id].isIdle }
            return slots.contains(where: \.isIdle)
        }
    }

    // MARK: Admission

    /// Moves queued tasks onto idle slots, in arrival order; the rest stay deferred.
    private func admitQueuedTasks() {
        let (taken, systemTokens) = condition.withLock { () -> ([(EngineTask, Slot)], [Int32]) in
            var taken: [(EngineTask, Slot)] = []
            var reserved = Set<Int>()
            var rest: [EngineTask] = []
            for task in queue {
                if let slot = chooseSlot(for: task, excluding: reserved) {
                    reserved.insert(slot.id)
                    taken.append((task, slot))
                } else {
                    rest.append(task)
                }
            }
            queue = rest
            return (taken, self.systemTokens)
        }
        for (task, slot) in taken {
            switch task {
            case .generate(let job): startGeneration(job, on: slot, systemTokens: systemTokens)
            case .embed(let job): runEmbedding(job, on: slot)
            case .slotAction(let job): runSlotAction(job, on: slot)
            }
        }
        if !taken.isEmpty { publishStatus() }
    }

    /// The slot a task should run on: the one it names, else the idle slot whose cache shares
    /// the longest prefix with its prompt (first idle slot on ties).
    private func chooseSlot(for task: EngineTask, excluding reserved: Set<Int>) -> Slot? {
        if let id = task.requiredSlot {
            return slots[id].isIdle && !reserved.contains(id) ? slots[id] : nil
        }
        let idle = slots.filter { $0.isIdle && !reserved.contains($0.id) }
        guard case .generate(let job) = task, job.request.cachePrompt else { return idle.first }
        return idle.max { commonPrefix($0.cachedTokens, job.request.promptTokens) < commonPrefix($1.cachedTokens, job.request.promptTokens) }
    }

    /// Sets a slot up for a generation: reuses the cached prefix, builds the sampler.
    private func startGeneration(_ job: GenerationJob, on slot: Slot, systemTokens: [Int32]) {
        let request = job.request
        if job.isCancelled { return }
        let fullPrompt = systemTokens + request.promptTokens
        let keepCount = request.keepCount ?? configuration.defaultKeepCount
        let keep = keepCount < 0 ? fullPrompt.count
            : min(fullPrompt.count, keepCount + (startsWithBOS(fullPrompt) ? 1 : 0))
        guard let prompt = PromptTruncation.fit(fullPrompt, keep: keep, contextSize: slotContextSize) else {
            fail(job, .promptTooLong(tokens: fullPrompt.count, contextSize: slotContextSize))
            return
        }
        let constraint = request.grammar.map {
            GrammarConstraint(grammar: $0, vocabulary: grammarVocabulary, trigger: request.grammarTrigger)
        }
        let sampler: SamplerChain
        do {
            sampler = try SamplerChain(parameters: request.sampling, vocabulary: samplerVocabulary,
                                       contextSize: slotContextSize, constraint: constraint,
                                       tokenize: { [tokenizer] in tokenizer.tokenize($0, addSpecial: false) },
                                       piece: { [tokenizer] (id: Int32, body: (UnsafeBufferPointer<UInt8>) -> Void) in
                                           tokenizer.withPieceBytes(id, special: true, body)
                                       })
        } catch {
            fail(job, .invalidSampling(field: error.field, message: error.description))
            return
        }
        sampler.acceptPrompt(prompt)

        let adapterScales = request.adapterScales ?? condition.withLock { defaultAdapterScales }
        // Self-extend rearranges cached positions, so a slot using it starts from an empty cache
        // (llama-server at the spec's commit refused cache_prompt with it).
        let groupAttention = configuration.groupAttentionFactor > 1
        slot.selfExtend = groupAttention
            ? SelfExtend(factor: configuration.groupAttentionFactor, width: configuration.groupAttentionWidth) : nil
        let cachePrompt = request.cachePrompt && !groupAttention
        // Cached states computed under other LoRA scales are not this request's: no reuse (and
        // the RAM prompt cache, which does not record scales, is bypassed while adapters exist).
        let sameAdapters = adapterScales == slot.cachedAdapterScales
        if cachePrompt && model.adapters.isEmpty { swapWithPromptCache(slot, prompt: prompt) }
        // Keep the longest cached prefix (at least one prompt token must run to get logits).
        var reuse = cachePrompt && sameAdapters ? commonPrefix(slot.cachedTokens, prompt) : 0
        reuse = min(reuse, prompt.count - 1)
        if reuse == 0 {
            cache.clear(slot.id)
        } else {
            cache.remove(slot.id, positions: Int32(reuse)..<Int32.max)
        }
        slot.cachedTokens.removeSubrange(reuse...)
        slot.cachedAdapterScales = adapterScales

        slot.task = ActiveGeneration(job: job, sampler: sampler, constraint: constraint, prompt: prompt,
                                     cachedCount: reuse, detokenizer: tokenizer.makeStreamingDetokenizer(special: configuration.rendersSpecialTokens),
                                     predictLimit: effectivePredictLimit(request.predictLimit),
                                     keepCount: min(keep, prompt.count))
        slot.task?.truncated = prompt.count < fullPrompt.count
        slot.task?.reasoningBudget = request.reasoningBudget.map {
            // Message and marker are tokenized apart, as llama-server does, so no token spans both.
            let forced = tokenizer.tokenize($0.message, addSpecial: false, parseSpecial: true)
                + tokenizer.tokenize($0.close, addSpecial: false, parseSpecial: true)
            return ReasoningBudgetTracker($0, forcedTokens: forced)
        }
        if request.reportsProgress, let task = slot.task { reportProgress(task, starting: true) }
    }

    /// `--cache-ram`: before a slot gives up cached tokens for a new prompt, keep them in host
    /// memory; and when host memory holds a longer match for the prompt than the slot does, load
    /// it into the slot instead.
    private func swapWithPromptCache(_ slot: Slot, prompt: [Int32]) {
        guard let ram = promptCache else { return }
        let current = commonPrefix(slot.cachedTokens, prompt)
        let entry = ram.take(for: prompt, longerThan: current)
        if slot.cachedTokens.count > current || entry != nil {
            ram.store(tokens: slot.cachedTokens, state: cache.encodedSequence(slot.id))
        }
        guard let entry else { return }
        do {
            try cache.loadSequence(slot.id, from: entry.state)
            slot.cachedTokens = entry.tokens
        } catch {
            // A state that does not load is dropped; the slot starts empty rather than wrong.
            cache.clear(slot.id)
            slot.cachedTokens = []
        }
    }

    private func startsWithBOS(_ tokens: [Int32]) -> Bool {
        guard let bos = tokenizer.vocabulary.bos else { return false }
        return tokens.first == bos
    }

    /// The request's `n_predict`, or the server's `-n` when the request leaves it at -1 (as
    /// today's llama-server; see docs/compatibility.md).
    private func effectivePredictLimit(_ requested: Int) -> Int {
        requested < 0 ? configuration.defaultPredictLimit : requested
    }

    // MARK: Cancellation and context

    /// Frees the slots of tasks whose clients went away.
    private func dropCancelledTasks() {
        // Queued work whose client has gone leaves the queue now (it counted as deferred, and
        // in the shutdown's count of running requests, until a slot freed).
        let dropped = condition.withLock { () -> [EngineTask] in
            var dropped: [EngineTask] = []
            queue.removeAll { task in
                let gone = switch task {
                case .generate(let job): job.isCancelled
                case .embed(let job): job.isCancelled()
                case .slotAction: false
                }
                if gone { dropped.append(task) }
                return gone
            }
            return dropped
        }
        for task in dropped {
            switch task {
            case .generate(let job): job.continuation.finish()
            case .embed(let job): job.reply(.failure(.cancelled))
            case .slotAction: break
            }
        }
        for slot in slots {
            guard let task = slot.task, task.job.isCancelled else { continue }
            slot.task = nil
            lastFinished[slot.id] = (task.job.request, task.predicted, .limit)
            task.job.continuation.finish()
        }
    }

    /// Context shift: when a generating slot's context is full, keep its first `keepCount`
    /// tokens, discard half of the rest, and move the remainder down.
    private func makeRoomInFullContexts() {
        for slot in slots {
            guard let task = slot.task, task.phase == .generating else { continue }
            guard configuration.contextShift && slot.selfExtend == nil else {
                // As llama-server without context shift: the reply ends once prompt + generated
                // tokens fill the context (the pending token takes the last cell), marked truncated.
                if slot.cachedTokens.count + 1 >= slotContextSize {
                    task.truncated = true
                    finish(slot, reason: .limit)
                }
                continue
            }
            guard slot.cachedTokens.count >= slotContextSize else { continue }
            let keep = min(task.keepCount, slotContextSize - 1)
            let discard = (slot.cachedTokens.count - keep) / 2
            guard discard > 0 else {
                finish(slot, reason: .limit)
                continue
            }
            let start = Int32(keep), end = Int32(keep + discard), count = Int32(slot.cachedTokens.count)
            cache.remove(slot.id, positions: start..<end)
            model.shift(cache, sequence: slot.id, positions: end..<count, by: -Int32(discard))
            slot.cachedTokens.removeSubrange(keep..<(keep + discard))
            task.truncated = true
        }
    }

    /// Self-extend: before a slot's next tokens enter, rearrange its cached positions when its
    /// window is full (`SelfExtend.rearrange`).
    private func rearrangeGroupedPositions() {
        for slot in slots where slot.task != nil {
            guard var extend = slot.selfExtend else { continue }
            for operation in extend.rearrange() {
                switch operation {
                case let .add(lower, upper, delta):
                    guard lower < upper else { continue }
                    model.shift(cache, sequence: slot.id, positions: Int32(lower)..<Int32(upper), by: Int32(delta))
                case let .divide(lower, upper, divisor):
                    guard lower < upper else { continue }
                    model.divide(cache, sequence: slot.id, positions: Int32(lower)..<Int32(upper), by: Int32(divisor))
                }
            }
            slot.selfExtend = extend
        }
    }

    /// The position of a slot's next token: its cache length, or self-extend's position.
    private func nextPosition(_ slot: Slot) -> Int { slot.selfExtend?.position ?? slot.cachedTokens.count }

    // MARK: One batch

    /// One batch from every active slot: a token for each generating slot (up to the micro-batch
    /// size), then prompt chunks for ingesting slots, up to a micro-batch of prompt rows. Returns
    /// the slot of each logits row, in order.
    private func buildBatch() -> (Batch, [Slot]) {
        var batch = Batch()
        var logitSlots: [Slot] = []
        for slot in slots {
            guard batch.count < configuration.microBatchSize, let task = slot.task, task.phase == .generating,
                  let token = task.pendingToken else { continue }
            batch.append(Batch.Row(token: token, position: Int32(nextPosition(slot)), sequence: slot.id, wantsLogits: true))
            logitSlots.append(slot)
        }
        var budget = configuration.microBatchSize
        for slot in promptOrder() {
            guard budget > 0, let task = slot.task, var n = promptChunk(task, budget: budget) else { continue }
            // A self-extend window is rearranged between steps, so a chunk stops at its end.
            if let extend = slot.selfExtend { n = min(n, max(1, extend.room)) }
            let base = nextPosition(slot)
            for i in 0..<n {
                let isLast = task.promptCursor + i == task.prompt.count - 1
                batch.append(Batch.Row(token: task.prompt[task.promptCursor + i], position: Int32(base + i),
                                       sequence: slot.id, wantsLogits: isLast))
                if isLast { logitSlots.append(slot) }
            }
            budget -= n
        }
        if !model.adapters.isEmpty {
            for row in batch.rows where batch.adapterScales[row.sequence] == nil {
                batch.adapterScales[row.sequence] = slots[row.sequence].cachedAdapterScales
            }
        }
        // Rows were appended decode-first, then prompts; logits come back in row order, so the
        // logit slot order above matches because each slot contributes at most one logits row
        // and prompt slots come after all decode slots.
        return (batch, logitSlots)
    }

    /// The slots with prompt left to ingest, in the order they get this step's prompt rows. With
    /// invariant numerics the shortest remaining prompt goes first: a short request then starts
    /// at the next step instead of waiting behind a long prompt's whole prefill, and no row's
    /// numbers depend on the order. llama.cpp numerics keep llama-server's slot order.
    private func promptOrder() -> [Slot] {
        let ingesting = slots.filter { $0.task?.phase == .ingestingPrompt }
        guard model.numerics != .llamaCpp, ingesting.count > 1 else { return ingesting }
        return ingesting.sorted { a, b in
            let (ra, rb) = (a.task!.remainingPrompt, b.task!.remainingPrompt)
            return ra != rb ? ra < rb : a.id < b.id
        }
    }

    /// How many of a task's remaining prompt tokens go into this step, with `budget` prompt rows
    /// left in it; nil when the slot waits for the next step.
    ///
    /// Invariant numerics give a row the same result in any batch, so a prompt simply takes what
    /// fits. llama.cpp numerics depend on the rows per step, so a chunk is cut where llama-server
    /// cuts it (PromptChunking), independently of the other slots: a chunk that does not fit in
    /// what is left waits for the next step instead of being cut smaller, and a sequence's numbers
    /// are then the same alone or beside others.
    private func promptChunk(_ task: ActiveGeneration, budget: Int) -> Int? {
        guard model.numerics == .llamaCpp else { return min(task.remainingPrompt, budget) }
        let n = PromptChunking.nextChunk(remaining: task.remainingPrompt, budget: configuration.microBatchSize,
                                         slidingWindow: model.config.slidingWindow != nil,
                                         logicalBatchSize: configuration.logicalBatchSize,
                                         microBatchSize: configuration.microBatchSize)
        return n <= budget ? n : nil
    }

    /// Runs the batch, records what entered the cache, then samples every slot that got logits.
    private func runBatch(_ batch: Batch, logitSlots: [Slot]) {
        let logits: [Float]
        do {
            logits = try model.forward(batch, cache: cache)
        } catch {
            failSlots(in: batch, error: .modelFailure("\(error)"))
            return
        }
        commitRows(batch)
        counters.decodeCalls += 1
        for slot in slots {
            if slot.task != nil { counters.busySlotsAtDecode += 1 }
            counters.longestSequence = max(counters.longestSequence, slot.cachedTokens.count)
        }
        let vocab = model.config.vocabularySize
        logits.withUnsafeBufferPointer { all in
            for (j, slot) in logitSlots.enumerated() {
                let row = UnsafeBufferPointer(rebasing: all[(j * vocab)..<((j + 1) * vocab)])
                sampleNextToken(slot, logits: row)
            }
        }
    }

    /// Sends a task's prompt progress to its client (the first report, before any prompt
    /// token ran, has taken no time).
    private func reportProgress(_ task: ActiveGeneration, starting: Bool = false) {
        task.job.continuation.yield(.progress(PromptProgress(
            total: task.prompt.count, cached: task.cachedCount, processed: task.promptCursor,
            milliseconds: starting ? 0 : Date().timeIntervalSince(task.startTime) * 1000)))
    }

    /// Appends the batch's tokens to each slot's cached tokens and advances prompt cursors.
    private func commitRows(_ batch: Batch) {
        defer {
            var reported = Set<Int>()
            for row in batch.rows where !reported.contains(row.sequence) {
                guard let task = slots[row.sequence].task, task.phase == .ingestingPrompt,
                      task.job.request.reportsProgress else { continue }
                reported.insert(row.sequence)
                reportProgress(task)
            }
        }
        for row in batch.rows {
            let slot = slots[row.sequence]
            slot.cachedTokens.append(row.token)
            slot.selfExtend?.advance(by: 1)
            guard let task = slot.task else { continue }
            if task.phase == .ingestingPrompt {
                task.promptCursor += 1
                counters.promptTokens += 1
            } else {
                task.pendingToken = nil
            }
        }
    }

    // MARK: Sampling and stopping

    /// Samples a slot's next token, releases its text, and stops on EOS, stop strings or limits.
    private func sampleNextToken(_ slot: Slot, logits: UnsafeBufferPointer<Float>) {
        guard let task = slot.task else { return }
        if task.phase == .ingestingPrompt {
            let now = Date()
            task.firstTokenTime = now
            task.phase = .generating
            counters.promptSeconds += now.timeIntervalSince(task.startTime)
            if task.predictLimit == 0 {
                finish(slot, reason: .limit)
                return
            }
        }
        let sampled = nextToken(task, logits: logits)
        if sampled.constraintAdmitsNothing, let failure = task.sampler.constraint?.failure {
            // The grammar gave up (too ambiguous to decide within its budget): this request
            // fails on its own; its slot is free again and the other slots go on.
            slot.task = nil
            publishStatus()
            fail(task.job, .grammarFailure(failure))
            return
        }
        if sampled.constraintAdmitsNothing {
            // Nothing the grammar allows is possible. A finished grammar whose end is banned
            // (ignore_eos, or a logit bias against EOS) ends as at EOS; one cut off mid-way (a
            // logit bias banned every token it allows) ends as at a limit, its text incomplete.
            // No token is emitted or counted. (llama-server fails such requests with a 500.)
            finish(slot, reason: sampled.constraintCouldEnd ? .endOfGeneration : .limit)
            return
        }
        task.sampler.accept(sampled.token)
        task.predicted += 1
        counters.predictedTokens += 1

        if tokenizer.isEndOfGeneration(sampled.token) {
            finish(slot, reason: .endOfGeneration)
            return
        }
        let piece = task.detokenizer.append(sampled.token)
        task.reasoningBudget?.accept(bytes: tokenizer.piece(sampled.token, special: true),
                                     completesCharacter: !task.detokenizer.hasPendingBytes)
        switch task.stopMatcher.append(piece) {
        case .release(let text):
            task.job.continuation.yield(.token(tokenEvent(task, slot: slot, token: sampled.token, text: text,
                                                          probabilities: sampled.probabilities)))
        case .stop(let word, let text):
            task.job.continuation.yield(.token(tokenEvent(task, slot: slot, token: sampled.token, text: text,
                                                          probabilities: sampled.probabilities)))
            finish(slot, reason: .word(word), flushHeldText: false)
            return
        }
        if task.predictLimit >= 0 && task.predicted >= task.predictLimit {
            finish(slot, reason: .limit)
            return
        }
        task.pendingToken = sampled.token
    }

    /// The slot's next token: while a reasoning budget forces the end of thinking, its next forced
    /// token (it then goes through the grammar, penalties, detokenizer, stop strings and the
    /// model exactly as a sampled token does); otherwise a sample.
    private func nextToken(_ task: ActiveGeneration, logits: UnsafeBufferPointer<Float>) -> SampledToken {
        if let forced = task.reasoningBudget?.forcedToken { return task.sampler.forced(forced, logits: logits) }
        return task.sampler.sample(logits: logits)
    }

    /// Ends a slot's task with a summary and frees the slot (its cache stays for reuse).
    func finish(_ slot: Slot, reason: StopReason, flushHeldText: Bool = true) {
        guard let task = slot.task else { return }
        slot.task = nil
        var trailing = ""
        if flushHeldText {
            let tail = task.detokenizer.finish()
            switch task.stopMatcher.append(tail) {
            case .release(let text): trailing = text + task.stopMatcher.flush()
            case .stop(_, let text): trailing = text
            }
        }
        let end = Date()
        if let promptEnd = task.firstTokenTime { counters.predictedSeconds += end.timeIntervalSince(promptEnd) }
        counters.cachedPromptTokens += task.cachedCount
        let timings = timingsSoFar(task, at: end)
        let summary = GenerationSummary(
            taskID: task.job.id, slotID: slot.id, stopReason: reason, trailingText: trailing,
            promptTokenCount: task.prompt.count, cachedTokenCount: task.cachedCount,
            predictedTokenCount: task.predicted, truncated: task.truncated, timings: timings,
            seed: task.sampler.seed)
        lastFinished[slot.id] = (task.job.request, task.predicted, reason)
        publishStatus() // before the client hears of it, so /health and /slots already agree
        task.job.continuation.yield(.finished(summary))
        task.job.continuation.finish()
    }

    /// A task's timings up to `end`: its prompt (from admission to the first sampled token) and
    /// its generation since.
    private func timingsSoFar(_ task: ActiveGeneration, at end: Date) -> GenerationTimings {
        let promptEnd = task.firstTokenTime ?? end
        return GenerationTimings(promptTokens: task.prompt.count - task.cachedCount,
                                 promptMilliseconds: promptEnd.timeIntervalSince(task.startTime) * 1000,
                                 predictedTokens: task.predicted,
                                 predictedMilliseconds: end.timeIntervalSince(promptEnd) * 1000)
    }

    /// The `.token` event for a sampled token (with the timings so far when the request asked).
    private func tokenEvent(_ task: ActiveGeneration, slot: Slot, token: Int32, text: String,
                            probabilities: TokenProbabilities?) -> GeneratedToken {
        var event = GeneratedToken(slotID: slot.id, token: token, text: text, probabilities: probabilities)
        if task.job.request.reportsTimings {
            event.timings = timingsSoFar(task, at: Date())
            event.cachedTokenCount = task.cachedCount
        }
        return event
    }

    private func fail(_ job: GenerationJob, _ error: EngineError) {
        job.continuation.yield(.failed(error))
        job.continuation.finish()
    }

    /// A forward pass failed: the batch's slots lose their tasks and their (now unknown) cache.
    private func failSlots(in batch: Batch, error: EngineError) {
        for id in Set(batch.rows.map(\.sequence)) {
            let slot = slots[id]
            if let task = slot.task { fail(task.job, error) }
            slot.task = nil
            cache.clear(id)
            slot.cachedTokens = []
        }
    }

    private func failEverything() {
        for slot in slots {
            if let task = slot.task { fail(task.job, .stopped) }
            slot.task = nil
        }
        let pending = condition.withLock { () -> [EngineTask] in
            defer { queue.removeAll() }
            return queue
        }
        for task in pending {
            switch task {
            case .generate(let job): fail(job, .stopped)
            case .embed(let job): job.reply(.failure(.stopped))
            case .slotAction(let job): job.reply(.failure(.stopped))
            }
        }
    }

    // MARK: Status

    /// Publishes slot states for /health, /slots and /metrics.
    func publishStatus() {
        let statuses = slots.map { slot -> SlotStatus in
            var s = SlotStatus.idle(id: slot.id)
            s.cachedTokens = slot.cachedTokens.count
            if let task = slot.task {
                s.isProcessing = true
                s.taskID = task.job.id
                s.request = task.job.request
                s.decoded = task.predicted
                s.remaining = task.predictLimit < 0 ? -1 : task.predictLimit - task.predicted
            } else if let (request, predicted, reason) = lastFinished[slot.id] {
                s.request = request
                s.decoded = predicted
                s.stoppedByEOS = reason == .endOfGeneration
                s.stoppedByLimit = reason == .limit
                if case .word(let w) = reason { s.stoppingWord = w }
            }
            return s
        }
        condition.withLock {
            published = EngineStatus(slots: statuses, deferred: queue.count)
            publishedCounters = counters
        }
    }
}

/// Length of the common prefix of two token lists.
func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
    var n = 0
    while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
    return n
}
