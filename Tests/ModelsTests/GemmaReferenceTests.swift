import Foundation
import Testing
import GGUF
import CriaNumerics
@testable import Models

/// The Gemma 3 forward pass against llama.cpp's recorded greedy continuations
/// (Tests/Fixtures/reference/gemma3-270m/completions.json: 6 prompts × 48 tokens with the top-1
/// log-probability llama.cpp computed for each).
///
/// Teacher forcing: every prompt followed by llama.cpp's 48 tokens runs as one sequence of a
/// single 6-sequence batch, and at each step we take our log-probability of llama.cpp's token.
/// Tolerances (measured, then given headroom): mean |Δ log p| ≤ 0.06 per prompt and max ≤ 0.6;
/// our argmax equals llama.cpp's token at ≥ 95% of the 288 steps. A wrong RoPE, norm, scale or
/// kernel moves these by whole units. Exact greedy agreement over 48 tokens is not asserted: the
/// remaining differences are f16 rounding in attention (≤ 2 ulps, see the issue note), which
/// flips near-ties.
@Suite(.serialized) struct GemmaReferenceTests {
    struct Completion: Decodable {
        struct Token: Decodable { let id: Int32 }
        struct LogProb: Decodable { let id: Int32; let logprob: Double }
        let name: String
        let prompt_tokens_with_bos: [Token]
        let tokens: [Int32]
        let top1_logprobs: [LogProb]
    }
    struct Reference: Decodable { let completions: [Completion] }

    static func load() throws -> [Completion] {
        let data = try Data(contentsOf: URL(fileURLWithPath: ModelPaths.reference + "completions.json"))
        return try JSONDecoder().decode(Reference.self, from: data).completions
    }

    @Test func teacherForcedLogProbsMatchLlamaCpp() throws {
        let completions = try Self.load()
        let model = try TransformerModel(path: ModelPaths.model, threads: 2)
        model.numerics = .llamaCpp
        let vocab = model.config.vocabularySize
        let cache = model.makeCache(capacity: 128)
        var batch = Batch()
        for (s, c) in completions.enumerated() {
            let prompt = c.prompt_tokens_with_bos.map(\.id)
            for (i, t) in (prompt + c.tokens.dropLast()).enumerated() {
                batch.append(.init(token: t, position: Int32(i), sequence: s, wantsLogits: i >= prompt.count - 1))
            }
        }
        let logits = try model.forward(batch, cache: cache)
        var row = 0
        var argmaxAgreements = 0, steps = 0
        try logits.withUnsafeBufferPointer { lb in
            for c in completions {
                var sumError = 0.0, maxError = 0.0
                for (j, token) in c.tokens.enumerated() {
                    let p = lb.baseAddress! + row * vocab
                    row += 1
                    let lp = VectorMath.logSoftmax(at: Int(token), p, count: vocab)
                    let error = abs(lp - c.top1_logprobs[j].logprob)
                    sumError += error
                    maxError = max(maxError, error)
                    var best = 0
                    for v in 1..<vocab where p[v] > p[best] { best = v }
                    if Int32(best) == token { argmaxAgreements += 1 }
                    steps += 1
                }
                let meanError = sumError / Double(c.tokens.count)
                print("\(c.name): mean |Δ log p| \(meanError), max \(maxError)")
                #expect(meanError <= 0.06, "\(c.name): mean |Δ log p| \(meanError)")
                #expect(maxError <= 0.6, "\(c.name): max |Δ log p| \(maxError)")
                try #require(c.top1_logprobs.count == c.tokens.count)
            }
        }
        print("argmax agrees with llama.cpp at \(argmaxAgreements) of \(steps) steps")
        #expect(Double(argmaxAgreements) >= 0.95 * Double(steps))
    }

    /// Free-running greedy decoding of all 6 prompts as one batch; the first token must match
    /// llama.cpp everywhere, and the agreement length per prompt is printed for the issue note.
    @Test func greedyContinuations() throws {
        let (completions, generated) = try Self.greedy(.llamaCpp)
        // The engine issue's bar: the first 32 tokens identical for every prompt, all 48 for at
        // least 5 of the 6 (llama.cpp's numerics are reproduced bit for bit, so all 48 match).
        var complete = 0
        for (s, c) in completions.enumerated() {
            let matching = zip(generated[s], c.tokens).prefix { $0 == $1 }.count
            print("\(c.name): first \(matching) of 48 greedy tokens identical to llama.cpp")
            #expect(matching >= 32, "\(c.name): only \(matching) greedy tokens match llama.cpp")
            if matching == c.tokens.count { complete += 1 }
        }
        #expect(complete >= 5, "all 48 tokens match for only \(complete) of 6 prompts")
    }

    /// The same in the default invariant numerics, whose float orders differ from llama.cpp's
    /// (one-row attention for prompt rows, Q5_0's exact block sums): the agreement length per
    /// prompt is printed for the numerics issue's note; the first token (the prompt's own
    /// argmax, where a rounding change rarely reaches) must match everywhere.
    @Test func greedyContinuationsInInvariantNumerics() throws {
        let (completions, generated) = try Self.greedy(.invariant)
        var lengths: [Int] = []
        for (s, c) in completions.enumerated() {
            let matching = zip(generated[s], c.tokens).prefix { $0 == $1 }.count
            lengths.append(matching)
            #expect(matching >= 1, "\(c.name): the first greedy token differs from llama.cpp's")
        }
        print("invariant numerics: greedy tokens identical to llama.cpp's before the first difference: \(lengths) of 48")
    }

    /// Greedy continuations of the recorded prompts, all 6 as one batch, in `numerics`.
    static func greedy(_ numerics: NumericsMode) throws -> ([Completion], [[Int32]]) {
        let completions = try Self.load()
        let model = try TransformerModel(path: ModelPaths.model, threads: 2)
        model.numerics = numerics
        let cache = model.makeCache(capacity: 128)
        let vocab = model.config.vocabularySize
        var generated = Array(repeating: [Int32](), count: completions.count)
        // llama-server (which recorded these) feeds a sliding-window model's prompt in two steps,
        // all but the last 4 tokens, then the last 4 (PromptChunking); the row counts pick
        // llama.cpp's numerics, so the test feeds them the same way.
        var head = Batch()
        var batch = Batch()
        for (s, c) in completions.enumerated() {
            let prompt = c.prompt_tokens_with_bos.map(\.id)
            let cut = PromptChunking.firstChunkEnd(promptCount: prompt.count, slidingWindow: true, logicalBatchSize: 2048,
                                                   microBatchSize: 512)
            for (i, t) in prompt.enumerated() {
                let row = Batch.Row(token: t, position: Int32(i), sequence: s, wantsLogits: i == prompt.count - 1)
                if i < cut { head.append(row) } else { batch.append(row) }
            }
        }
        _ = try model.forward(head, cache: cache)
        for _ in 0..<48 {
            let logits = try model.forward(batch, cache: cache)
            var next = Batch()
            for s in 0..<completions.count {
                let slice = logits[s * vocab..<(s + 1) * vocab]
                var best = slice.startIndex
                for i in slice.indices where slice[i] > slice[best] { best = i }
                let token = Int32(best - slice.startIndex)
                generated[s].append(token)
                next.append(.init(token: token, position: cache.nextPosition(s), sequence: s, wantsLogits: true))
            }
            batch = next
        }
        return (completions, generated)
    }
}
