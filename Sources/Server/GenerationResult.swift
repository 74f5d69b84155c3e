import Sampling
import Serving

/// Everything a finished generation produced, gathered from the engine's events.
struct GenerationResult {
    var content = ""
    var tokens: [Int32] = []
    var probabilities: [TokenProbabilities] = []
    var summary: GenerationSummary?
    /// Trailing tokens (with probabilities) that released no text so far: when a stop string
    /// ends the generation, these are its tokens.
    private var silentTail = 0

    /// Drains a handle's events. Throws the engine's error, or CancellationError if the
    /// stream ended early (the client went away).
    static func collect(_ handle: GenerationHandle) async throws -> GenerationResult {
        var result = GenerationResult()
        for await event in handle.events {
            switch event {
            case .token(let t): result.add(t)
            case .finished(let s):
                result.content += s.trailingText
                result.summary = s
                // As llama-server: no probabilities for the tokens of the stop string, whose
                // text is not in the reply either.
                if case .word = s.stopReason { result.probabilities.removeLast(result.silentTail) }
            case .failed(let e): throw APIError.from(e)
            case .progress: continue
            }
        }
        guard result.summary != nil else { throw CancellationError() }
        return result
    }

    mutating func add(_ token: GeneratedToken) {
        content += token.text
        tokens.append(token.token)
        if let p = token.probabilities {
            probabilities.append(p)
            silentTail = token.text.isEmpty ? silentTail + 1 : 0
        }
    }
}

extension GenerationHandle {
    /// The events of several generations as they come, each with its handle's index in
    /// `handles`; the stream ends when every generation's stream has ended.
    static func merged(_ handles: [GenerationHandle]) -> AsyncStream<(index: Int, event: GenerationEvent)> {
        AsyncStream { continuation in
            let task = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (index, handle) in handles.enumerated() {
                        group.addTask { for await event in handle.events { continuation.yield((index, event)) } }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension StopReason {
    /// OpenAI `finish_reason`.
    var finishReason: String {
        switch self {
        case .endOfGeneration, .word: "stop"
        case .limit: "length"
        }
    }

    /// OpenAI `finish_reason` for a chat reply: `tool_calls` when it ended with calls.
    func finishReason(toolCalls: Bool) -> String {
        toolCalls && self != .limit ? "tool_calls" : finishReason
    }
}

extension APIError {
    /// Engine errors are the client's to fix (400), except failures inside the engine.
    static func from(_ error: EngineError) -> APIError {
        switch error {
        case .modelFailure: APIError(.internalServerError, .server, error.description)
        case .stopped: APIError(.serviceUnavailable, .unavailable, error.description)
        case .embeddingsDisabled: .notSupported(error.description)
        case .slotFile: APIError(.badRequest, .invalidRequest, error.description)
        case .promptTooLong(let tokens, let contextSize):
            { var e = APIError(.badRequest, .exceedContextSize, error.description)
              e.promptTokens = tokens
              e.contextSize = contextSize
              return e }()
        default: .badRequest(error.description)
        }
    }
}
