import Foundation
import Grammar
import Models
import Sampling
import Testing
import Tokenization
@testable import Serving

/// The engine with the real model (small n_predict: the debug forward pass is slow).
@Suite(.serialized)
struct EngineTests {
    static let modelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/models/gemma-3-270m-q4_k_m.gguf"

    static let shared: (TransformerModel, Tokenizer) = {
        let model = try! TransformerModel(path: modelPath, threads: 2)
        return (model, try! Tokenizer(file: model.file))
    }()

    func makeEngine(slots: Int = 2, context: Int = 256) -> Engine {
        let (model, tokenizer) = Self.shared
        let engine = try! Engine(model: model, tokenizer: tokenizer,
                            configuration: EngineConfiguration(contextSize: context, slotCount: slots, microBatchSize: 64))
        engine.start()
        return engine
    }

    static var greedy: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        return p
    }

    /// Greedy decoding straight from `forward`: the reference the engine must reproduce.
    func forwardGreedy(_ prompt: [Int32], count: Int) throws -> [Int32] {
        let (model, _) = Self.shared
        let cache = model.makeCache(capacity: 256)
        var logits = try model.forward(Batch(tokens: prompt, startPosition: 0, sequence: 0), cache: cache)
        var out: [Int32] = []
        let vocab = model.config.vocabularySize
        for _ in 0..<count {
            let last = logits[(logits.count - vocab)...]
            let next = Int32(last.indices.max { last[$0] < last[$1] }! - last.startIndex)
            out.append(next)
            logits = try model.forward(Batch(rows: [Batch.Row(token: next, position: Int32(prompt.count + out.count - 1),
                                                               sequence: 0, wantsLogits: true)]), cache: cache)
        }
        return out
    }

    func run(_ engine: Engine, _ request: GenerationRequest) async throws -> ([Int32], String, GenerationSummary) {
        let handle = try engine.submit(request)
        var tokens: [Int32] = []
        var text = ""
        for await event in handle.events {
            switch event {
            case .token(let t):
                tokens.append(t.token)
                text += t.text
            case .finished(let s): return (tokens, text + s.trailingText, s)
            case .failed(let e): throw e
            case .progress: continue
            }
        }
        throw CancellationError()
    }

    func prompt(_ text: String) -> [Int32] { Self.shared.1.tokenize(text, addSpecial: true) }

    @Test func greedyGenerationEqualsForwardGreedyDecoding() async throws {
        let engine = makeEngine()
        defer { engine.stop() }
        let p = prompt("The old lighthouse keeper")
        let (tokens, _, summary) = try await run(engine, GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 4))
        #expect(tokens == (try forwardGreedy(p, count: 4)))
        #expect(summary.stopReason == .limit && summary.predictedTokenCount == 4 && summary.promptTokenCount == p.count)
    }

    /// A grammar the parser admits but that is too ambiguous to match (nested optional
    /// repetitions through a rule reference) runs out of the matcher's work budget on its first
    /// mask: that request fails with the reason, a request running beside it is unaffected, and
    /// the freed slot serves the next request.
    @Test func grammarOverItsWorkBudgetFailsOnlyItsOwnRequest() async throws {
        let engine = makeEngine(slots: 2)
        defer { engine.stop() }
        let hostile = try Grammar.parse("root ::= x{0,1000}\nx ::= \"a\"{0,1000}")
        let p = prompt("The old lighthouse keeper")
        async let beside = run(engine, GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 4))
        do {
            _ = try await run(engine, GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 4, grammar: hostile))
            Issue.record("the request under the hostile grammar did not fail")
        } catch let error as EngineError {
            guard case .grammarFailure(let message) = error else { Issue.record("unexpected error \(error)"); return }
            #expect(message.contains("too ambiguous"))
        }
        let (tokens, _, summary) = try await beside
        #expect(tokens == (try forwardGreedy(p, count: 4)) && summary.stopReason == .limit)
        for _ in 0..<2 { // both slots serve again
            let (again, _, _) = try await run(engine, GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 2))
            #expect(again == Array(tokens.prefix(2)))
        }
    }

    @Test func concurrentRequestsMatchSequentialOnes() async throws {
        let engine = makeEngine(slots: 3)
        defer { engine.stop() }
        let prompts = ["def fibonacci(n):", "1. Apples\n2.", "Hello there"].map(prompt)
        var sequential: [[Int32]] = []
        for p in prompts {
            sequential.append(try await run(engine, GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 3)).0)
        }
        let concurrent = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, p) in prompts.enumerated() {
                group.addTask { (i, try await run(engine, GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 3)).0) }
            }
            var out = [[Int32]](repeating: [], count: prompts.count)
            for try await (i, t) in group { out[i] = t }
            return out
        }
        #expect(concurrent == sequential)
    }

    @Test func cachedPrefixIsReused() async throws {
        let engine = makeEngine(slots: 1)
        defer { engine.stop() }
        let p = prompt("The old lighthouse keeper climbed")
        var request = GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 2, cachePrompt: true)
        let first = try await run(engine, request)
        let second = try await run(engine, request)
        #expect(first.2.cachedTokenCount == 0)
        #expect(second.2.cachedTokenCount == p.count - 1)
        #expect(second.0 == first.0)
        request.cachePrompt = false
        #expect(try await run(engine, request).2.cachedTokenCount == 0)
    }

    @Test func contextShiftKeepsGenerating() async throws {
        let engine = makeEngine(slots: 1, context: 16)
        defer { engine.stop() }
        let p = prompt("One two three four five six")
        let request = GenerationRequest(promptTokens: p, sampling: Self.greedy, predictLimit: 14, keepCount: 2)
        let (tokens, _, summary) = try await run(engine, request)
        #expect(tokens.count == 14 && summary.truncated && summary.stopReason == .limit)
    }

    @Test func rejectsBadRequestsUpFront() throws {
        let engine = makeEngine(slots: 2, context: 64)
        defer { engine.stop() }
        #expect(throws: EngineError.invalidSlot(5, slotCount: 2)) {
            try engine.submit(GenerationRequest(promptTokens: [2], slotID: 5))
        }
        #expect(throws: EngineError.emptyPrompt) { try engine.submit(GenerationRequest(promptTokens: [])) }
    }

    @Test func longPromptIsTruncatedKeepingItsHead() async throws {
        let engine = makeEngine(slots: 2, context: 64)   // 32 cells a slot
        defer { engine.stop() }
        let request = GenerationRequest(promptTokens: [2] + [Int32](repeating: 100, count: 39), sampling: Self.greedy,
                                        predictLimit: 2, keepCount: 3)
        let (tokens, _, summary) = try await run(engine, request)
        #expect(tokens.count == 2 && summary.truncated)
        #expect(summary.promptTokenCount < 32)
    }

    @Test func truncationKeepsTheHeadAndTheEnd() {
        let prompt = (0..<100).map(Int32.init)
        #expect(PromptTruncation.fit(Array(prompt[..<31]), keep: 4, contextSize: 32) == Array(prompt[..<31]))
        // keep 4, block (32 - 4) / 2 = 14, erased (100 - 4 - 14) / 14 = 5 blocks: tokens 4..<74 go.
        let cut = PromptTruncation.fit(prompt, keep: 4, contextSize: 32)
        #expect(cut == Array(prompt[..<4]) + Array(prompt[74...]))
        // n_keep larger than the context leaves 4 cells: keep 28, block 2, all but the last 2..3 go.
        let most = PromptTruncation.fit(prompt, keep: 1000, contextSize: 32)!
        #expect(most.count < 32 && Array(most[..<28]) == Array(prompt[..<28]) && most.last == 99)
        #expect(PromptTruncation.fit(prompt, keep: 0, contextSize: 1) == nil)
        for context in 2...40 {
            for keep in [0, 1, 5, 100] {
                let fitted = PromptTruncation.fit(prompt, keep: keep, contextSize: context)!
                #expect(fitted.count < context && fitted.last == 99)
            }
        }
    }

    @Test func cancellingFreesTheSlot() async throws {
        let engine = makeEngine(slots: 1)
        defer { engine.stop() }
        let handle = try engine.submit(GenerationRequest(promptTokens: prompt("Count:"), sampling: Self.greedy, predictLimit: 200))
        for await event in handle.events {
            if case .token = event { break }
        }
        handle.cancel()
        let (tokens, _, _) = try await run(engine, GenerationRequest(promptTokens: prompt("Hi"), sampling: Self.greedy, predictLimit: 1))
        #expect(tokens.count == 1)
        #expect(engine.status().slots[0].decoded == 1)
    }

    @Test func meanPoolingAveragesRows() {
        let pooled = Engine.pool([1, 2, 3, 4, 5, 6], rows: 3, width: 2, pooling: .mean)
        #expect(pooled == [[3, 4]])
        #expect(Engine.pool([1, 2, 3, 4], rows: 2, width: 2, pooling: .last) == [[3, 4]])
        #expect(Engine.pool([1, 2, 3, 4], rows: 2, width: 2, pooling: .cls) == [[1, 2]])
        #expect(Engine.pool([1, 2, 3, 4], rows: 2, width: 2, pooling: .none) == [[1, 2], [3, 4]])
    }
}
