import Foundation
import Testing
import GGUF
@testable import Models

/// The Gemma 3 forward pass against llama.cpp's recorded greedy continuations
/// (../shared/reference/gemma3-270m/completions.json): token ids must be identical.
@Suite(.serialized) struct GemmaReferenceTests {
    struct Completion: Decodable {
        struct Token: Decodable { let id: Int32 }
        let name: String
        let prompt_tokens_with_bos: [Token]
        let tokens: [Int32]
    }
    struct Reference: Decodable { let completions: [Completion] }

    static func load() throws -> [Completion] {
        let data = try Data(contentsOf: URL(fileURLWithPath: ModelPaths.reference + "completions.json"))
        return try JSONDecoder().decode(Reference.self, from: data).completions
    }

    static func argmax(_ logits: ArraySlice<Float>) -> Int32 {
        var best = logits.startIndex
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return Int32(best - logits.startIndex)
    }

    /// Greedy decoding of every reference prompt, all 6 in one batched run (each prompt its own
    /// sequence), which also exercises multi-sequence batches.
    @Test func greedyContinuationsMatchLlamaCpp() throws {
        let completions = try Self.load()
        let model = try TransformerModel(path: ModelPaths.model, threads: 2)
        let cache = model.makeCache(capacity: 128)
        let vocab = model.config.vocabularySize
        let steps = 48
        var generated = Array(repeating: [Int32](), count: completions.count)
        var batch = Batch()
        for (s, c) in completions.enumerated() {
            let prompt = c.prompt_tokens_with_bos.map(\.id)
            for (i, t) in prompt.enumerated() {
                batch.append(.init(token: t, position: Int32(i), sequence: s, wantsLogits: i == prompt.count - 1))
            }
        }
        for _ in 0..<steps {
            let logits = try model.forward(batch, cache: cache)
            var next = Batch()
            for s in 0..<completions.count {
                let token = Self.argmax(logits[s * vocab..<(s + 1) * vocab])
                generated[s].append(token)
                next.append(.init(token: token, position: cache.nextPosition(s), sequence: s, wantsLogits: true))
            }
            batch = next
        }
        var fullMatches = 0
        for (s, c) in completions.enumerated() {
            let matching = zip(generated[s], c.tokens).prefix { $0 == $1 }.count
            #expect(matching >= 32, "\(c.name): first \(matching) tokens match; got \(generated[s]) expected \(c.tokens)")
            if matching == steps { fullMatches += 1 }
        }
        #expect(fullMatches >= 5, "only \(fullMatches) of 6 continuations match for all 48 tokens")
    }
}
