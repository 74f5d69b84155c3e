import Foundation

/// Work queued for the engine thread.
enum EngineTask {
    case generate(GenerationJob)
    case embed(EmbeddingJob)
    case slotAction(SlotActionJob)

    /// The slot this task must run on, if it names one.
    var requiredSlot: Int? {
        switch self {
        case .generate(let job): job.request.slotID
        case .embed: nil
        case .slotAction(let job): job.slotID
        }
    }
}

/// A generation request plus the channel its events go to.
final class GenerationJob: @unchecked Sendable {
    let id: Int
    let request: GenerationRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    private let lock = NSLock()
    private var _cancelled = false

    init(id: Int, request: GenerationRequest, continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.id = id
        self.request = request
        self.continuation = continuation
    }

    var isCancelled: Bool { lock.withLock { _cancelled } }
    func cancel() { lock.withLock { _cancelled = true } }
}

/// Token states for one input, pooled on the engine thread.
struct EmbeddingJob {
    let tokens: [Int32]
    let pooling: Pooling
    /// Checked before each chunk and while queued: true once the caller no longer wants it.
    let isCancelled: @Sendable () -> Bool
    let reply: @Sendable (Result<[[Float]], EngineError>) -> Void
}

/// Save, restore or erase a slot's cache.
struct SlotActionJob {
    enum Action { case save(path: String), restore(path: String), erase }
    let slotID: Int
    let action: Action
    let reply: @Sendable (Result<SlotActionResult, EngineError>) -> Void
}

/// The outcome of a slot action (the counts the /slots routes report).
public struct SlotActionResult: Sendable, Equatable {
    /// Tokens saved, restored or erased.
    public var tokenCount: Int
    /// Bytes written or read (0 for erase).
    public var byteCount: Int
    public var milliseconds: Double
}
