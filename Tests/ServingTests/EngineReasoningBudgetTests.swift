import Foundation
import Models
import Sampling
import Testing
import Tokenization
@testable import Serving

/// The reasoning budget in the running engine, on the real test model: the forced end of
/// thinking replaces samples at the right step, goes through the model like sampled tokens (the
/// reply after it is what greedy decoding gives after those tokens), and counts as generated.
@Suite(.serialized)
struct EngineReasoningBudgetTests {
    /// A model of its own: a model's compute pool serves one forward pass at a time, and this
    /// suite runs beside EngineTests.
    static let shared: (TransformerModel, Tokenizer) = {
        let model = try! TransformerModel(path: EngineTests.modelPath, threads: 2)
        return (model, try! Tokenizer(file: model.file))
    }()
    var tokenizer: Tokenizer { Self.shared.1 }

    func makeEngine(slots: Int = 1, context: Int = 256) -> Engine {
        let engine = try! Engine(model: Self.shared.0, tokenizer: tokenizer,
                            configuration: EngineConfiguration(contextSize: context, slotCount: slots, microBatchSize: 64))
        engine.start()
        return engine
    }

    func prompt(_ text: String) -> [Int32] { tokenizer.tokenize(text, addSpecial: true) }

    /// Greedy decoding one row at a time from `forward`, with `forced[i]` emitted at step i
    /// instead of the argmax: the reference for the engine's forced tokens.
    func forwardGreedy(_ prompt: [Int32], count: Int, forced: [Int: Int32] = [:]) throws -> [Int32] {
        let (model, _) = Self.shared
        let cache = model.makeCache(capacity: 256)
        var logits = try model.forward(Batch(tokens: prompt, startPosition: 0, sequence: 0), cache: cache)
        var out: [Int32] = []
        let vocab = model.config.vocabularySize
        for step in 0..<count {
            let last = logits[(logits.count - vocab)...]
            let next = forced[step] ?? Int32(last.indices.max { last[$0] < last[$1] }! - last.startIndex)
            out.append(next)
            logits = try model.forward(Batch(rows: [Batch.Row(token: next, position: Int32(prompt.count + step),
                                                               sequence: 0, wantsLogits: true)]), cache: cache)
        }
        return out
    }

    /// Greedy without the default repeat penalty, so `forwardGreedy`'s plain argmax is the reference.
    static var argmax: SamplingParameters {
        var p = EngineTests.greedy
        p.repeatPenalty = 1
        return p
    }

    func forcedTokens(message: String) -> [Int32] {
        tokenizer.tokenize(message, addSpecial: false, parseSpecial: true)
            + tokenizer.tokenize("</think>", addSpecial: false, parseSpecial: true)
    }

    func events(_ engine: Engine, _ request: GenerationRequest) async throws -> ([GeneratedToken], GenerationSummary) {
        var tokens: [GeneratedToken] = []
        for await event in try engine.submit(request).events {
            switch event {
            case .token(let t): tokens.append(t)
            case .finished(let s): return (tokens, s)
            case .failed(let e): throw e
            case .progress: continue
            }
        }
        throw CancellationError()
    }

    @Test func templateOpenedThinkingIsClosedAfterTheBudget() async throws {
        let engine = makeEngine(slots: 1)
        defer { engine.stop() }
        let p = prompt("<think>\nThe old lighthouse keeper")
        let forced = forcedTokens(message: " Enough.")
        let budget = 3, after = 2
        var request = GenerationRequest(promptTokens: p, sampling: Self.argmax, predictLimit: budget + forced.count + after)
        request.sampling.nProbs = 2
        request.reasoningBudget = ReasoningBudget(tokens: budget, open: "<think>", close: "</think>", message: " Enough.",
                                                  startsInside: true)
        let (tokens, summary) = try await events(engine, request)

        var steps: [Int: Int32] = [:]
        for (i, t) in forced.enumerated() { steps[budget + i] = t }
        let expected = try forwardGreedy(p, count: budget + forced.count + after, forced: steps)
        #expect(tokens.map(\.token) == expected)
        #expect(Array(expected[budget..<(budget + forced.count)]) == forced)
        #expect(summary.predictedTokenCount == budget + forced.count + after, "forced tokens count as generated")
        let text = tokens.map(\.text).joined() + summary.trailingText
        #expect(text.contains(" Enough.</think>"))
        // A forced token's report: drawn from nothing but itself.
        let report = tokens[budget].probabilities
        #expect(report?.selectedPostSampling.probability == 1 && report?.postSampling.count == 1)
        #expect(report?.preSampling.count == 2)
    }

    @Test func modelOpenedThinkingCountsFromTheMarker() async throws {
        let engine = makeEngine(slots: 1)
        defer { engine.stop() }
        let p = prompt("The old lighthouse keeper")
        let free = try forwardGreedy(p, count: 2)
        // The "opening marker" is the text of the model's own first two tokens, so the model
        // opens the block itself, at step 1.
        let open = tokenizer.detokenize(free)
        let forced = forcedTokens(message: "")
        let budget = 2
        var request = GenerationRequest(promptTokens: p, sampling: Self.argmax, predictLimit: 2 + budget + forced.count + 1)
        request.reasoningBudget = ReasoningBudget(tokens: budget, open: open, close: "</think>", startsInside: false)
        let (tokens, _) = try await events(engine, request)
        var steps: [Int: Int32] = [:]
        for (i, t) in forced.enumerated() { steps[2 + budget + i] = t }
        #expect(tokens.map(\.token) == (try forwardGreedy(p, count: 2 + budget + forced.count + 1, forced: steps)))
    }

    @Test func noBlockMeansNothingIsForced() async throws {
        let engine = makeEngine(slots: 1)
        defer { engine.stop() }
        let p = prompt("The old lighthouse keeper")
        var request = GenerationRequest(promptTokens: p, sampling: Self.argmax, predictLimit: 6)
        request.reasoningBudget = ReasoningBudget(tokens: 1, open: "<think>", close: "</think>", startsInside: false)
        let (tokens, _) = try await events(engine, request)
        #expect(tokens.map(\.token) == (try forwardGreedy(p, count: 6)))
    }

    @Test func forcedTextCanHitAStopString() async throws {
        let engine = makeEngine(slots: 1)
        defer { engine.stop() }
        var request = GenerationRequest(promptTokens: prompt("<think>\nOnce upon a time"), sampling: Self.argmax,
                                        predictLimit: 30, stopStrings: ["</think>"])
        request.reasoningBudget = ReasoningBudget(tokens: 2, open: "<think>", close: "</think>", startsInside: true)
        let (tokens, summary) = try await events(engine, request)
        #expect(summary.stopReason == .word("</think>"))
        #expect(!tokens.map(\.text).joined().contains("</think>"))
    }

    @Test func badBudgetsAreRefused() {
        let engine = makeEngine(slots: 1, context: 64)
        defer { engine.stop() }
        var request = GenerationRequest(promptTokens: [2, 100])
        request.reasoningBudget = ReasoningBudget(tokens: -2, open: "<think>", close: "</think>", startsInside: true)
        #expect(throws: EngineError.self) { try engine.submit(request) }
    }
}
