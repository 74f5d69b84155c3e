import Foundation
import Models
import Sampling
import Serving
import Templates
import Tokenization

/// The loaded model as the HTTP layer sees it: the engine, its tokenizer, the chat template and
/// the names and numbers the info routes report.
public final class ServedModel: Sendable {
    public let engine: Engine
    public let tokenizer: Tokenizer
    public let chatTemplate: ChatTemplate
    /// `-m` path as given.
    public let modelPath: String
    /// `-a`, or the model's path.
    public let alias: String
    public let createdAt: Int
    /// Every `-a` name (comma-separated); `alias` is the first in sorted order, as llama-server.
    public let aliases: [String]
    /// `--tags`.
    public let tags: [String]
    /// Server-wide sampling defaults (`--temp`, `--seed`, …) under each request's own options.
    public let samplingDefaults: SamplingParameters
    /// `--reasoning`: whether chat templates are told to think.
    public let reasoning: ReasoningMode
    /// `--reranking`: the model's classification head.
    public let rankingHead: RankingHead?

    public init(engine: Engine, tokenizer: Tokenizer, chatTemplate: ChatTemplate, modelPath: String, alias: String?,
                aliases: [String] = [], tags: [String] = [], samplingDefaults: SamplingParameters = SamplingParameters(),
                reasoning: ReasoningMode = .auto, rankingHead: RankingHead? = nil) {
        self.engine = engine
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.modelPath = modelPath
        self.alias = alias ?? modelPath
        self.aliases = aliases
        self.tags = tags
        self.samplingDefaults = samplingDefaults
        self.reasoning = reasoning
        self.rankingHead = rankingHead
        createdAt = Int(Date().timeIntervalSince1970)
    }

    var vocabularySize: Int { engine.model.config.vocabularySize }

    /// Text of a special token, for chat templates.
    func tokenText(_ id: Int32?) -> String {
        guard let id else { return "" }
        return tokenizer.pieceString(id, special: true)
    }

    /// A text `penalty_prompt` as the sampler tokenizes it (no BOS), for `generation_settings`.
    func penaltyTokens(_ text: String) -> [Int32] { tokenizer.tokenize(text, addSpecial: false) }

    /// Whether the model has the three FIM tokens /infill needs.
    var supportsInfill: Bool {
        let v = tokenizer.vocabulary
        return v.fimPrefix != nil && v.fimSuffix != nil && v.fimMiddle != nil
    }
}

/// Loading state of the server: /health reports it; other routes answer 503 until ready.
///
/// With `--sleep-idle-seconds` the model can also be asleep: unloaded (weights, KV cache and
/// threads released) after that long without work, and loaded again by the next request that
/// needs it (see `IdleSleep`). The routes llama-server exempts (`/health`, `/props`, `/models`,
/// `/metrics`) answer from `SleepSnapshot` meanwhile and do not wake it.
public final class ModelHost: Sendable {
    public enum State: Sendable {
        case loading
        case ready(ServedModel)
        case failed(String)
        /// Started without `-m`: like llama-server's router with no model to offer.
        case noModel
        /// Unloaded after idling; the snapshot answers the routes that do not wake it.
        case sleeping(SleepSnapshot)
    }

    private let lock = NSLock()
    nonisolated(unsafe) private var _state: State = .loading
    nonisolated(unsafe) private var sleep: SleepBook?

    public init() {}

    public init(model: ServedModel) { _state = .ready(model) }

    public var state: State { lock.withLock { _state } }

    public func set(_ state: State) { lock.withLock { _state = state } }

    /// The model, or a 503 while it loads / 500 if it failed. A sleeping model is loaded again
    /// first (the caller waits for it).
    func served() async throws(APIError) -> ServedModel {
        let now: Result<ServedModel, APIError>? = lock.withLock {
            switch _state {
            // Not idle time's business: `SleepActivityMiddleware` counts the requests that need
            // the model, and the exempt routes read it without keeping it awake.
            case .ready(let m): return .success(m)
            case .loading: return .failure(APIError.loading)
            case .failed(let message):
                return .failure(APIError(.internalServerError, .server, "Model failed to load: \(message)"))
            case .noModel:
                return .failure(APIError.badRequest(
                    "No model is loaded: this server was started without -m, and cria has no model "
                    + "router to load one by name; restart cria serve with -m PATH"))
            case .sleeping: return nil
            }
        }
        if let now { return try now.get() }
        return try await wake().get()
    }

    /// Whether the model is asleep now.
    public var isSleeping: Bool {
        if case .sleeping = state { return true }
        return false
    }

    // MARK: Sleeping (--sleep-idle-seconds)

    /// What sleeping needs: how long to idle, how to load the model again, and how to snapshot
    /// the routes that answer while asleep. Set once, before requests arrive.
    public func enableSleep(after idle: Duration, reload: @escaping @Sendable () throws -> ServedModel,
                            log: ServerLog?) {
        lock.withLock { sleep = SleepBook(idle: idle, reload: reload, log: log) }
    }

    /// Counts a request that may need the model in (`SleepActivityMiddleware`): no sleep while
    /// one runs, and the idle time starts again when it ends.
    func requestStarted() {
        lock.withLock {
            sleep?.activeRequests += 1
            sleep?.lastActivity = .now
        }
    }

    func requestEnded() {
        lock.withLock {
            sleep?.activeRequests -= 1
            sleep?.lastActivity = .now
        }
    }

    /// One check of the idle monitor: puts the model to sleep when nothing has used it for the
    /// idle time; returns whether it did. `snapshot` renders the answers given while asleep (it
    /// runs outside the lock: it reads the host too).
    @discardableResult
    func sleepIfIdle(snapshot: (ServedModel) -> SleepSnapshot) -> Bool {
        guard let candidate = lock.withLock({ idleModel() }) else { return false }
        let shot = snapshot(candidate)
        let unloaded: ServedModel? = lock.withLock {
            // Checked again: a request may have come while the snapshot was rendered.
            guard let m = idleModel(), m === candidate else { return nil }
            sleep?.carried = EngineCarry(counters: shot.metrics.counters, adapterScales: m.engine.loraAdapters.map(\.scale),
                                         systemPrompt: m.engine.systemPrompt)
            _state = .sleeping(shot)
            return m
        }
        guard let unloaded else { return false }
        unloaded.engine.stop()
        lock.withLock { sleep?.log }?.info("sleeping: the model is unloaded until a request needs it")
        return true
    }

    /// The ready model when it has idled long enough to sleep (call with the lock held). Running
    /// work counts as activity: the idle time starts when it ends.
    private func idleModel() -> ServedModel? {
        guard let book = sleep, case .ready(let m) = _state, !book.waking else { return nil }
        let status = m.engine.status()
        if status.processingCount > 0 || status.deferred > 0 || book.activeRequests > 0 {
            sleep?.lastActivity = .now
            return nil
        }
        return ContinuousClock.now - book.lastActivity >= book.idle ? m : nil
    }

    /// Counters of the engines that slept, for /metrics to add to the running engine's.
    var carriedCounters: EngineCounters? { lock.withLock { sleep?.carried?.counters } }

    /// Loads the sleeping model again (once, however many requests wait for it).
    private func wake() async -> Result<ServedModel, APIError> {
        await withCheckedContinuation { (waiter: CheckedContinuation<Result<ServedModel, APIError>, Never>) in
            let start: SleepBook? = lock.withLock {
                switch _state {
                case .ready(let m):
                    waiter.resume(returning: .success(m))
                    return nil
                case .sleeping:
                    guard var book = sleep else {
                        waiter.resume(returning: .failure(APIError.loading))
                        return nil
                    }
                    book.waiters.append(waiter)
                    defer { book.waking = true; sleep = book }
                    return book.waking ? nil : book
                case .loading:
                    waiter.resume(returning: .failure(APIError.loading))
                    return nil
                case .failed(let message):
                    waiter.resume(returning: .failure(APIError(.internalServerError, .server, "Model failed to load: \(message)")))
                    return nil
                case .noModel:
                    waiter.resume(returning: .failure(APIError.badRequest("No model is loaded")))
                    return nil
                }
            }
            guard let book = start else { return }
            // Loading computes (packed weight copies), so it gets a thread of its own.
            let thread = Thread { [self] in finishWaking(Result { try book.reload() }, carry: book.carried, log: book.log) }
            thread.name = "cria-wake"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    private func finishWaking(_ loaded: Result<ServedModel, any Error>, carry: EngineCarry?, log: ServerLog?) {
        if case .success(let m) = loaded, let carry {
            if carry.adapterScales.count == m.engine.model.adapters.count { m.engine.setDefaultAdapterScales(carry.adapterScales) }
            if !carry.systemPrompt.prompt.isEmpty { m.engine.setSystemPrompt(carry.systemPrompt) }
        }
        let waiters: [CheckedContinuation<Result<ServedModel, APIError>, Never>] = lock.withLock {
            switch loaded {
            case .success(let m): _state = .ready(m)
            case .failure(let error): _state = .failed("\(error)")
            }
            let waiters = sleep?.waiters ?? []
            sleep?.waiters = []
            sleep?.waking = false
            sleep?.lastActivity = .now
            return waiters
        }
        switch loaded {
        case .success(let m):
            log?.info("awake: the model is loaded again")
            for w in waiters { w.resume(returning: .success(m)) }
        case .failure(let error):
            log?.error("failed to load the model again after sleeping: \(error)")
            let apiError = APIError(.internalServerError, .server, "Model failed to load: \(error)")
            for w in waiters { w.resume(returning: .failure(apiError)) }
        }
    }
}

/// The sleeping bookkeeping of `ModelHost` (guarded by its lock).
private struct SleepBook {
    let idle: Duration
    let reload: @Sendable () throws -> ServedModel
    let log: ServerLog?
    var activeRequests = 0
    var lastActivity = ContinuousClock.now
    var waking = false
    var waiters: [CheckedContinuation<Result<ServedModel, APIError>, Never>] = []
    /// What the next engine takes over from the one that slept.
    var carried: EngineCarry?

    init(idle: Duration, reload: @escaping @Sendable () throws -> ServedModel, log: ServerLog?) {
        self.idle = idle
        self.reload = reload
        self.log = log
    }
}

/// Settings changed at run time (and the /metrics totals), carried over a sleep.
private struct EngineCarry {
    var counters: EngineCounters
    var adapterScales: [Float]
    var systemPrompt: SystemPrompt
}

/// What the routes that do not wake a sleeping model answer with, rendered as it fell asleep.
public struct SleepSnapshot: Sendable {
    /// GET /props, with `is_sleeping` true.
    var props: Data
    /// GET /v1/models entries.
    var models: [ModelListJSON.Model]
    /// /metrics as of the moment it fell asleep (nothing runs while asleep).
    var metrics: EngineMetrics
}
