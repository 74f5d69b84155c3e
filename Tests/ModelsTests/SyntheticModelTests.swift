import Foundation
import Testing
import GGUF
import CriaNumerics
@testable import Models

/// Tiny random llama / qwen2 models (Fixtures/, written by scripts/make-synthetic-models.py)
/// against the logits of an independent float64 numpy forward pass over the same stored weights.
enum Synthetic {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static func path(_ name: String) -> String { fixtures + "/\(name).gguf" }

    static let models = ["llama-f32", "qwen2-f32", "llama-f16", "llama-q8_0"]

    /// Largest allowed |engine − reference| over all logits. Logits have std ≈ 3 and max
    /// |logit| ≈ 9.5 in every model. The reference is float64 arithmetic on the stored weights.
    ///
    /// Float weights (F32, F16): matmuls are plain f32; the engine rounds K, V and the query to
    /// f16 and keeps the attention value accumulator in f16 (relative error ≈ 2⁻¹¹ per
    /// rounding), carried through two layers and the LM head. Measured maxima 0.004–0.015
    /// (printed by the tests; context shift, which re-rounds re-rotated keys, is the largest),
    /// so 2e-2 ≈ 0.2 % of the logit range.
    ///
    /// Q8_0 weights: every matmul input is also rounded to 8 bits per 32-block (step up to
    /// max|x|/127), ≈ 3 % of the logit range on these logits; measured 0.18–0.28. Emulating that
    /// rounding in the reference does not help: it is discontinuous, and the f16 attention
    /// differences flip enough roundings to leave ≈ 0.2. Hence 0.5: loose, but a wrong scale,
    /// block layout or row order gives errors of the size of the logits themselves (std 3).
    static func tolerance(_ name: String) -> Float { name.hasSuffix("q8_0") ? 0.5 : 2e-2 }

    struct Expected {
        let tokensA, tokensB, cont: [Int32]
        let logitsA, logitsB, removeLogits, shiftLogits: [Float]

        init(_ name: String) throws {
            let file = try GGUFFile(path: Synthetic.fixtures + "/\(name).expected.gguf")
            func ints(_ n: String) throws -> [Int32] {
                let t = try #require(file.tensor(named: n))
                #expect(t.type == .i32)
                let raw = file.data(for: t)
                return (0..<t.elementCount).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
            }
            func floats(_ n: String) throws -> [Float] {
                try Dequantize.tensor(try #require(file.tensor(named: n)), in: file)
            }
            tokensA = try ints("tokens_a")
            tokensB = try ints("tokens_b")
            cont = try ints("cont_tokens")
            logitsA = try floats("logits_a")
            logitsB = try floats("logits_b")
            removeLogits = try floats("remove_logits")
            shiftLogits = try floats("shift_logits")
        }
    }

    static func maxAbsDiff(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) logits")
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Rows `rows` (each `vocab` wide) of a logits array.
    static func rows(_ logits: [Float], _ rows: Range<Int>, vocab: Int) -> [Float] {
        Array(logits[rows.lowerBound * vocab..<rows.upperBound * vocab])
    }

    /// Runs `a` (sequence 0) and `b` (sequence 1), equally long, interleaved row by row in one
    /// batch from position 0 on a fresh cache, and returns each sequence's logits.
    static func interleaved(_ model: TransformerModel, _ a: [Int32], _ b: [Int32]) throws -> (a: [Float], b: [Float]) {
        var batch = Batch()
        for i in a.indices {
            batch.append(.init(token: a[i], position: Int32(i), sequence: 0, wantsLogits: true))
            batch.append(.init(token: b[i], position: Int32(i), sequence: 1, wantsLogits: true))
        }
        let mixed = try model.forward(batch, cache: model.makeCache(capacity: 64))
        let vocab = model.config.vocabularySize
        var logitsA: [Float] = [], logitsB: [Float] = []
        for i in a.indices {
            logitsA += rows(mixed, 2 * i..<2 * i + 1, vocab: vocab)
            logitsB += rows(mixed, 2 * i + 1..<2 * i + 2, vocab: vocab)
        }
        return (logitsA, logitsB)
    }

    /// Runs `tokens` at consecutive positions from `start` on `sequence`, all logits.
    static func run(_ model: TransformerModel, _ cache: KVCache, _ tokens: [Int32], start: Int, sequence: Int = 0) throws -> [Float] {
        try model.forward(Batch(tokens: tokens, startPosition: start, sequence: sequence, allLogits: true), cache: cache)
    }
}

@Suite struct SyntheticModelTests {
    @Test(arguments: Synthetic.models)
    func configurationIsReadFromMetadata(_ name: String) throws {
        let model = try TransformerModel(path: Synthetic.path(name), threads: 1)
        let c = model.config
        #expect(c.embeddingLength == 64 && c.layerCount == 2 && c.feedForwardLength == 128)
        #expect(c.headCount == 4 && c.headCountKV == 2 && c.headDimension == 16)
        #expect(c.vocabularySize == 96 && c.contextLength == 64 && c.ropeDimensions == 16)
        #expect(c.rmsEpsilon == 1e-5 && c.ropeBase == 10_000)
        #expect(c.ropeLayout == (name.hasPrefix("qwen2") ? .neox : .normal))
        let biased = model.weights.layers.allSatisfy { $0.queryBias != nil && $0.keyBias != nil && $0.valueBias != nil }
        #expect(biased == name.hasPrefix("qwen2"))
        // Untied: the LM head is output.weight, not the embedding.
        #expect(model.weights.output.data != model.weights.tokenEmbedding.data)
    }

    /// (a) the whole sequence as one batch, (b) token by token over the KV cache, (c) two
    /// sequences interleaved row by row in one batch: (a) and both sequences of (c) match the
    /// reference; (b) and (c) are bit-identical to single-sequence batches, as the forward pass
    /// promises (each row's result does not depend on the batch's other rows).
    @Test(arguments: Synthetic.models)
    func forwardMatchesReference(_ name: String) throws {
        let e = try Synthetic.Expected(name)
        let tol = Synthetic.tolerance(name)
        let model = try TransformerModel(path: Synthetic.path(name), threads: 2)
        let n = e.tokensA.count

        // (a)
        let whole = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensA, start: 0)
        let diffA = Synthetic.maxAbsDiff(whole, e.logitsA)
        print("\(name): whole-sequence max |Δlogit| vs numpy = \(diffA)")
        #expect(diffA <= tol, "\(name): max |Δ| \(diffA) > \(tol)")
        #expect(whole.allSatisfy { $0.isFinite })

        // (b)
        let cache = model.makeCache(capacity: 64)
        var stepwise: [Float] = []
        for (i, t) in e.tokensA.enumerated() {
            stepwise += try model.forward(Batch(tokens: [t], startPosition: i), cache: cache)
        }
        #expect(cache.count(0) == n && cache.positions(0) == (0..<Int32(n)).map { $0 })
        #expect(stepwise == whole, "\(name): token-by-token differs from one batch by \(Synthetic.maxAbsDiff(stepwise, whole))")

        // (c)
        let wholeB = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensB, start: 0)
        let (mixedA, mixedB) = try Synthetic.interleaved(model, e.tokensA, e.tokensB)
        #expect(mixedA == whole, "\(name): interleaved seq 0 differs by \(Synthetic.maxAbsDiff(mixedA, whole))")
        #expect(mixedB == wholeB, "\(name): interleaved seq 1 differs by \(Synthetic.maxAbsDiff(mixedB, wholeB))")
        let diffB = Synthetic.maxAbsDiff(wholeB, e.logitsB)
        print("\(name): second sequence max |Δlogit| vs numpy = \(diffB)")
        #expect(diffB <= tol, "\(name): max |Δ| \(diffB) > \(tol)")
    }

    /// The thread count changes how rows are split, never the result.
    @Test func threadCountDoesNotChangeLogits() throws {
        let e = try Synthetic.Expected("llama-q8_0")
        var results: [[Float]] = []
        for threads in [1, 3] {
            let model = try TransformerModel(path: Synthetic.path("llama-q8_0"), threads: threads)
            results.append(try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensA, start: 0))
        }
        #expect(results[0] == results[1])
    }

    /// Removing the tail and continuing is exactly a fresh run of the kept prefix plus the new
    /// tokens; removing a middle range (positions keep their gap) matches the reference.
    @Test(arguments: Synthetic.models)
    func removeFromCache(_ name: String) throws {
        let e = try Synthetic.Expected(name)
        let tol = Synthetic.tolerance(name)
        let model = try TransformerModel(path: Synthetic.path(name), threads: 2)
        let vocab = model.config.vocabularySize

        let cache = model.makeCache(capacity: 64)
        _ = try Synthetic.run(model, cache, e.tokensA, start: 0)
        cache.remove(0, positions: 8..<100)
        #expect(cache.positions(0) == (0..<8).map { $0 })
        #expect(cache.nextPosition(0) == 8)
        let continued = try Synthetic.run(model, cache, e.cont, start: 8)
        let fresh = try Synthetic.run(model, model.makeCache(capacity: 64), Array(e.tokensA[0..<8]) + e.cont, start: 0)
        #expect(continued == Synthetic.rows(fresh, 8..<12, vocab: vocab))

        let gap = model.makeCache(capacity: 64)
        _ = try Synthetic.run(model, gap, e.tokensA, start: 0)
        gap.remove(0, positions: 3..<6)
        #expect(gap.positions(0) == [0, 1, 2, 6, 7, 8, 9, 10, 11])
        let afterGap = try Synthetic.run(model, gap, e.cont, start: 12)
        let diff = Synthetic.maxAbsDiff(afterGap, e.removeLogits)
        print("\(name): after removing 3..<6, max |Δlogit| vs numpy = \(diff)")
        #expect(diff <= tol, "\(name): max |Δ| \(diff) > \(tol)")
    }

    /// A sequence continued from a copied prefix gives exactly the logits of recomputing it; the
    /// copy replaces what the destination held and leaves the source intact.
    @Test(arguments: ["llama-f32", "qwen2-f32"])
    func copyPrefix(_ name: String) throws {
        let e = try Synthetic.Expected(name)
        let model = try TransformerModel(path: Synthetic.path(name), threads: 2)
        let vocab = model.config.vocabularySize
        let cache = model.makeCache(capacity: 64)
        let original = try Synthetic.run(model, cache, e.tokensA, start: 0)
        _ = try Synthetic.run(model, cache, e.tokensB, start: 0, sequence: 1)  // replaced below

        try cache.copyPrefix(from: 0, to: 1, end: 7)
        #expect(cache.positions(1) == (0..<7).map { $0 })
        #expect(cache.count(0) == 12)
        let continued = try Synthetic.run(model, cache, e.cont, start: 7, sequence: 1)
        let fresh = try Synthetic.run(model, model.makeCache(capacity: 64), Array(e.tokensA[0..<7]) + e.cont, start: 0)
        #expect(continued == Synthetic.rows(fresh, 7..<11, vocab: vocab))

        // The source still continues as if nothing happened.
        let source = try Synthetic.run(model, cache, e.cont, start: 12, sequence: 0)
        let freshSource = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensA + e.cont, start: 0)
        #expect(source == Synthetic.rows(freshSource, 12..<16, vocab: vocab))
        #expect(Synthetic.rows(freshSource, 0..<12, vocab: vocab) == original)
    }

    /// Context shift: remove positions 3..<6, move 6..<12 down by 3 (re-rotating cached keys),
    /// continue at 9. The reference models the same operation (kept K/V are those computed with
    /// the full context, keys rotated at their new positions), so the tolerance is the forward
    /// pass's. Re-rotating f16 keys adds one more f16 rounding of each key.
    ///
    /// Recomputing the shortened sequence from scratch is a different result, and the test
    /// checks that it is: from layer 1 on, the kept tokens' K/V were computed while attending to
    /// the removed ones, so the two differ by far more than rounding (measured 3.0–4.8 in max
    /// |Δlogit|, on logits with std ≈ 3; the loosest rounding tolerance above is 0.5). A shift that
    /// recomputed the kept tokens instead of keeping their cached K/V would come out near 0.
    @Test(arguments: Synthetic.models)
    func contextShiftMatchesReference(_ name: String) throws {
        let e = try Synthetic.Expected(name)
        let tol = Synthetic.tolerance(name)
        let model = try TransformerModel(path: Synthetic.path(name), threads: 2)
        let vocab = model.config.vocabularySize
        let cache = model.makeCache(capacity: 64)
        _ = try Synthetic.run(model, cache, e.tokensA, start: 0)
        cache.remove(0, positions: 3..<6)
        model.shift(cache, sequence: 0, positions: 6..<12, by: -3)
        #expect(cache.positions(0) == (0..<9).map { $0 })
        let shifted = try Synthetic.run(model, cache, e.cont, start: 9)
        let diff = Synthetic.maxAbsDiff(shifted, e.shiftLogits)
        print("\(name): after context shift, max |Δlogit| vs numpy = \(diff)")
        #expect(diff <= tol, "\(name): max |Δ| \(diff) > \(tol)")

        let kept = Array(e.tokensA[0..<3]) + Array(e.tokensA[6..<12])
        let recomputed = try Synthetic.run(model, model.makeCache(capacity: 64), kept + e.cont, start: 0)
        let drift = Synthetic.maxAbsDiff(shifted, Synthetic.rows(recomputed, 9..<13, vocab: vocab))
        print("\(name): context shift vs recomputing the shortened sequence: max |Δlogit| = \(drift)")
        #expect(drift > 1, "\(name): context shift is as good as a recompute (max |Δ| \(drift)): were the cached K/V kept?")
    }

    /// Shifting a whole sequence without removing anything changes no relative position, so
    /// continuing must give the logits of running the sequence at the shifted positions from
    /// scratch, up to the f16 rounding of re-rotated keys.
    @Test(arguments: ["llama-f32", "qwen2-f32"], [Int32(5), Int32(-3)])
    func shiftWholeSequenceEqualsRecompute(_ name: String, delta: Int32) throws {
        let e = try Synthetic.Expected(name)
        let model = try TransformerModel(path: Synthetic.path(name), threads: 2)
        let vocab = model.config.vocabularySize
        let start: Int32 = 3  // so that a shift by −3 lands at 0
        let cache = model.makeCache(capacity: 64)
        _ = try Synthetic.run(model, cache, e.tokensA, start: Int(start))
        model.shift(cache, sequence: 0, positions: 0..<100, by: delta)
        #expect(cache.positions(0) == (0..<12).map { start + delta + $0 })
        let shifted = try Synthetic.run(model, cache, e.cont, start: Int(start + delta) + 12)
        let fresh = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensA + e.cont, start: Int(start + delta))
        let diff = Synthetic.maxAbsDiff(shifted, Synthetic.rows(fresh, 12..<16, vocab: vocab))
        print("\(name): whole-sequence shift by \(delta) vs recompute: max |Δlogit| = \(diff)")
        #expect(diff <= Synthetic.tolerance(name), "\(name): \(diff)")
        // And the shifted continuation is still the model's answer (reference at positions 0..).
        let noShift = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensA + e.cont, start: 0)
        #expect(Synthetic.maxAbsDiff(Synthetic.rows(noShift, 0..<12, vocab: vocab), e.logitsA) <= 1e-2)
    }
}

/// Broken models fail to load with an error naming what is wrong.
@Suite struct BrokenModelTests {
    struct Tensor {
        var name: String, shape: [Int], type: GGMLType, data: [UInt8]
    }

    /// llama-f32.gguf re-serialized with edits, parsed from memory.
    static func rebuilt(metadata editMetadata: (inout GGUFMetadata) -> Void = { _ in },
                        tensors editTensors: (inout [Tensor]) -> Void = { _ in }) throws -> GGUFFile {
        let file = try GGUFFile(path: Synthetic.path("llama-f32"))
        var metadata = file.metadata
        editMetadata(&metadata)
        var tensors = file.tensors.map { Tensor(name: $0.name, shape: $0.shape, type: $0.type, data: Array(file.data(for: $0))) }
        editTensors(&tensors)
        var writer = GGUFWriter()
        writer.metadata = metadata
        for t in tensors { writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: t.data) }
        return try GGUFFile(bytes: writer.serialized())
    }

    static func expectLoadFailure(_ file: GGUFFile, _ expected: ModelError, naming: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try TransformerModel(file: file, threads: 1)
            Issue.record("loaded a broken model; expected \(expected)", sourceLocation: sourceLocation)
        } catch let error as ModelError {
            #expect(error == expected, sourceLocation: sourceLocation)
            #expect(error.description.contains(naming), "\(error.description)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func unmodifiedRebuildLoads() throws {
        let model = try TransformerModel(file: try Self.rebuilt(), threads: 1)
        let e = try Synthetic.Expected("llama-f32")
        let logits = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensA, start: 0)
        #expect(Synthetic.maxAbsDiff(logits, e.logitsA) <= 1e-2)
    }

    @Test func unsupportedArchitecture() throws {
        let file = try Self.rebuilt(metadata: { $0["general.architecture"] = .string("mamba") })
        Self.expectLoadFailure(file, .unsupportedArchitecture("mamba"),
                               naming: "'mamba' (supported: bert, gemma2, gemma3, gpt-oss, granite, llama, nomic-bert, olmo2, phi3, qwen2, "
                                   + "qwen2moe, qwen3, qwen3moe, smollm3)")
    }

    @Test func missingTensor() throws {
        let file = try Self.rebuilt(tensors: { $0.removeAll { $0.name == "blk.1.ffn_up.weight" } })
        Self.expectLoadFailure(file, .missingTensor("blk.1.ffn_up.weight"), naming: "blk.1.ffn_up.weight")
    }

    @Test func missingOutputNorm() throws {
        let file = try Self.rebuilt(tensors: { $0.removeAll { $0.name == "output_norm.weight" } })
        Self.expectLoadFailure(file, .missingTensor("output_norm.weight"), naming: "output_norm.weight")
    }

    @Test func wrongTensorShape() throws {
        // K projection with as many rows as Q (no GQA): 64 × 64 instead of 32 × 64.
        let file = try Self.rebuilt(tensors: { ts in
            let i = ts.firstIndex { $0.name == "blk.0.attn_k.weight" }!
            ts[i].shape = [64, 64]
            ts[i].data = [UInt8](repeating: 0, count: 64 * 64 * 4)
        })
        Self.expectLoadFailure(file, .wrongTensorShape(tensor: "blk.0.attn_k.weight", expected: [64, 32], found: [64, 64]),
                               naming: "blk.0.attn_k.weight")
    }

    @Test func wrongVectorShape() throws {
        let file = try Self.rebuilt(tensors: { ts in
            let i = ts.firstIndex { $0.name == "blk.1.attn_norm.weight" }!
            ts[i].shape = [32]
            ts[i].data = Array(ts[i].data[0..<128])
        })
        Self.expectLoadFailure(file, .wrongTensorShape(tensor: "blk.1.attn_norm.weight", expected: [64], found: [32]),
                               naming: "blk.1.attn_norm.weight")
    }

    /// NVFP4 is a type GGUF names but Cria cannot compute with: the load fails naming the tensor
    /// and the type (64-element blocks: the 128-wide FFN down projection is whole blocks).
    @Test func unsupportedMatrixType() throws {
        let file = try Self.rebuilt(tensors: { ts in
            let i = ts.firstIndex { $0.name == "blk.0.ffn_down.weight" }!
            ts[i].type = .nvfp4
            ts[i].data = [UInt8](repeating: 0, count: 64 * 128 / 64 * GGMLType.nvfp4.typeSize)
        })
        Self.expectLoadFailure(file, .unsupportedTensorType(tensor: "blk.0.ffn_down.weight", type: "NVFP4"),
                               naming: "blk.0.ffn_down.weight")
    }

    @Test func unsupportedVectorType() throws {
        let file = try Self.rebuilt(tensors: { ts in
            let i = ts.firstIndex { $0.name == "blk.0.ffn_norm.weight" }!
            ts[i].type = .i32
        })
        Self.expectLoadFailure(file, .unsupportedTensorType(tensor: "blk.0.ffn_norm.weight", type: "I32"),
                               naming: "blk.0.ffn_norm.weight")
    }

    @Test func badBatches() throws {
        let model = try TransformerModel(path: Synthetic.path("llama-f32"), threads: 1)
        let cache = model.makeCache(capacity: 4)
        #expect(throws: ModelError.self) { try model.forward(Batch(tokens: [96], startPosition: 0), cache: cache) }
        #expect(throws: ModelError.self) { try model.forward(Batch(tokens: [-1], startPosition: 0), cache: cache) }
        #expect(cache.count(0) == 0)
        _ = try model.forward(Batch(tokens: [1, 5, 6], startPosition: 0), cache: cache)
        #expect(throws: ModelError.badBatch("position 2 of sequence 0 is not after 2")) {
            try model.forward(Batch(tokens: [7], startPosition: 2), cache: cache)
        }
        #expect(throws: ModelError.contextFull(sequence: 0, capacity: 4)) {
            try model.forward(Batch(tokens: [7, 8], startPosition: 3), cache: cache)
        }
        #expect(cache.count(0) == 3)
    }
}
