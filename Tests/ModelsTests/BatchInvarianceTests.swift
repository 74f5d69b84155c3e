import Testing
import GGUF
import CriaNumerics
@testable import Models

/// A sequence's logits are bit-identical whether it runs alone or batched with three other
/// sequences (prompt step and decode steps), on the model's default kernel path.
@Suite(.serialized) struct BatchInvarianceTests {
    static let prompts: [[Int32]] = [
        [2, 818, 5279, 529, 7001, 563],
        [2, 1018, 1217],
        [2, 3689, 563, 506, 1791, 529, 9405, 236881, 107],
        [2, 236776],
    ]

    /// Runs the prompts of `sequences` (indices into `prompts`) in one batch, then `steps`
    /// decode steps feeding fixed tokens; returns sequence 0's logits of every step.
    static func logitsOfFirst(_ model: TransformerModel, sequences: [Int], steps: Int) throws -> [[Float]] {
        let cache = model.makeCache(capacity: 32)
        let vocab = model.config.vocabularySize
        var batch = Batch()
        for s in sequences {
            let p = prompts[s]
            for (i, t) in p.enumerated() {
                batch.append(.init(token: t, position: Int32(i), sequence: s, wantsLogits: i == p.count - 1))
            }
        }
        var out: [[Float]] = []
        for step in 0...steps {
            let logits = try model.forward(batch, cache: cache)
            out.append(Array(logits[0..<vocab]))  // sequence 0 comes first in every batch here
            var next = Batch()
            for s in sequences {
                next.append(.init(token: Int32(1000 + 17 * step + s), position: cache.nextPosition(s), sequence: s,
                                  wantsLogits: true))
            }
            batch = next
        }
        return out
    }

    @Test func sequenceAloneEqualsSequenceInBatch() throws {
        let model = try TransformerModel(path: ModelPaths.model, threads: 2)
        let alone = try Self.logitsOfFirst(model, sequences: [0], steps: 3)
        let batched = try Self.logitsOfFirst(model, sequences: [0, 1, 2, 3], steps: 3)
        for step in alone.indices {
            let differing = zip(alone[step], batched[step]).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "step \(step) on \(model.kernelPath): \(differing) logits differ")
        }
        #expect(alone[0].contains { $0 != 0 })
    }

    /// Feeds `prompt` in chunks of the given sizes, then decodes `steps` fixed tokens; returns the
    /// logits of the prompt's last row and of every decode step.
    static func chunkedLogits(_ model: TransformerModel, prompt: [Int32], chunks: [Int], steps: Int) throws -> [[Float]] {
        let cache = model.makeCache(capacity: prompt.count + steps + 1)
        let vocab = model.config.vocabularySize
        var out: [[Float]] = []
        var start = 0
        for size in chunks {
            let end = min(prompt.count, start + size)
            let logits = try model.forward(Batch(tokens: Array(prompt[start..<end]), startPosition: start), cache: cache)
            if end == prompt.count { out.append(Array(logits.suffix(vocab))) }
            start = end
        }
        for step in 0..<steps {
            let logits = try model.forward(Batch(tokens: [Int32(2000 + 31 * step)], startPosition: prompt.count + step),
                                           cache: cache)
            out.append(logits)
        }
        return out
    }

    /// Invariant numerics: a 90-token prompt gives bit-identical logits fed whole (tiled sizes in
    /// llama.cpp's orders), in uneven chunks, or one token at a time, with 1 or 2 threads.
    @Test func invariantNumericsIgnoreChunkingAndThreads() throws {
        let prompt: [Int32] = [2] + (0..<89).map { Int32(1000 + ($0 * 7919) % 200_000) }
        let two = try TransformerModel(path: ModelPaths.model, threads: 2)
        #expect(two.numerics == .invariant)
        let whole = try Self.chunkedLogits(two, prompt: prompt, chunks: [90], steps: 2)
        let uneven = try Self.chunkedLogits(two, prompt: prompt, chunks: [3, 64, 9, 14], steps: 2)
        let single = try Self.chunkedLogits(two, prompt: prompt, chunks: [Int](repeating: 1, count: 90), steps: 2)
        let one = try TransformerModel(path: ModelPaths.model, threads: 1)
        let oneThread = try Self.chunkedLogits(one, prompt: prompt, chunks: [90], steps: 2)
        for (name, other) in [("uneven", uneven), ("single", single), ("one thread", oneThread)] {
            for step in whole.indices {
                let differing = zip(whole[step], other[step]).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name), step \(step): \(differing) logits differ")
            }
        }
        // llama.cpp's orders depend on the chunking: the same comparison finds differences there.
        two.numerics = .llamaCpp
        let llamaWhole = try Self.chunkedLogits(two, prompt: prompt, chunks: [90], steps: 0)
        let llamaSingle = try Self.chunkedLogits(two, prompt: prompt, chunks: [Int](repeating: 1, count: 90), steps: 0)
        #expect(zip(llamaWhole[0], llamaSingle[0]).contains { $0.bitPattern != $1.bitPattern })
    }
}
