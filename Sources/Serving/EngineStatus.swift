import Sampling

/// A snapshot of the engine for /health, /slots and /metrics, published after every step.
public struct EngineStatus: Sendable {
    public var slots: [SlotStatus]
    /// Tasks waiting for a slot.
    public var deferred: Int

    public var idleCount: Int { slots.filter { !$0.isProcessing }.count }
    public var processingCount: Int { slots.filter(\.isProcessing).count }
    public var cachedTokenTotal: Int { slots.reduce(0) { $0 + $1.cachedTokens } }
}

/// One slot as /slots shows it.
public struct SlotStatus: Sendable {
    public var id: Int
    public var isProcessing: Bool
    public var taskID: Int
    public var cachedTokens: Int
    /// The running (or last) request, when there was one.
    public var request: GenerationRequest?
    public var decoded: Int
    public var remaining: Int
    public var stoppedByEOS = false
    public var stoppedByLimit = false
    public var stoppingWord = ""

    static func idle(id: Int) -> SlotStatus {
        SlotStatus(id: id, isProcessing: false, taskID: -1, cachedTokens: 0, request: nil, decoded: 0, remaining: -1)
    }
}

/// Running totals since start.
public struct EngineCounters: Sendable, Equatable {
    public var promptTokens = 0
    public var promptSeconds = 0.0
    public var predictedTokens = 0
    public var predictedSeconds = 0.0
    /// Prompt tokens reused from a slot's cache instead of being processed.
    public var cachedPromptTokens = 0
    /// Forward passes (llama-server's llama_decode calls).
    public var decodeCalls = 0
    /// Sum over forward passes of the slots busy at that pass.
    public var busySlotsAtDecode = 0
    /// Longest sequence (prompt + generation) any slot has held.
    public var longestSequence = 0

    public init() {}
}

/// What /metrics reports.
public struct EngineMetrics: Sendable {
    public var counters: EngineCounters
    public var cacheTokens: Int
    public var cacheUsage: Double
    public var processing: Int
    public var deferred: Int

    public init(counters: EngineCounters, cacheTokens: Int, cacheUsage: Double, processing: Int, deferred: Int) {
        self.counters = counters
        self.cacheTokens = cacheTokens
        self.cacheUsage = cacheUsage
        self.processing = processing
        self.deferred = deferred
    }
}
