import Foundation
import Testing
import GGUF
import CriaNumerics
@testable import Models

/// The mixture-of-experts block on the tiny qwen3moe fixture (8 experts, 2 per token): a
/// sequence's logits do not depend on which other sequences share its experts in a batch, and
/// the parameter count splits active from total.
@Suite struct MixtureOfExpertsTests {
    static let prompts: [[Int32]] = [
        [1, 72, 101, 108, 108, 111],
        [1, 200, 17, 3, 99, 250, 45],
        [1, 30, 31, 32, 33, 34, 35, 36, 37],
    ]

    static func model(_ numerics: NumericsMode) throws -> TransformerModel {
        let m = try TransformerModel(path: ArchitectureFixture.folder + "/qwen3moe.gguf", threads: 2)
        m.numerics = numerics
        return m
    }

    /// Sequence 0's logits at the prompt and at 3 decode steps, with `sequences` batched together.
    static func logitsOfFirst(_ m: TransformerModel, sequences: [Int]) throws -> [[Float]] {
        let cache = m.makeCache(capacity: 32)
        let vocab = m.config.vocabularySize
        var batch = Batch()
        for s in sequences {
            for (i, t) in prompts[s].enumerated() {
                batch.append(.init(token: t, position: Int32(i), sequence: s, wantsLogits: i == prompts[s].count - 1))
            }
        }
        var out: [[Float]] = []
        for step in 0...3 {
            out.append(Array(try m.forward(batch, cache: cache)[0..<vocab]))
            var next = Batch()
            for s in sequences {
                next.append(.init(token: Int32(40 + 13 * step + s), position: cache.nextPosition(s), sequence: s, wantsLogits: true))
            }
            batch = next
        }
        return out
    }

    /// The experts each row of a batch chose in layer 0, observed through the router logits.
    static func expertsOfLayer0(_ m: TransformerModel, _ batch: Batch) throws -> [Set<Int>] {
        var chosen: [Set<Int>] = []
        m.tensorObserver = { name, rows, values in
            guard name == "ffn_moe_logits-0" else { return }
            for r in 0..<rows {
                let logits = Array(values[r * 8..<(r + 1) * 8])
                let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(2)
                chosen.append(Set(top))
            }
        }
        defer { m.tensorObserver = nil }
        _ = try m.forward(batch, cache: m.makeCache(capacity: 32))
        return chosen
    }

    /// Rows of different sequences do share experts here (22 rows × 2 choices over 8 experts must
    /// overlap; checked), and sequence 0's logits are bit-identical alone and batched, in both
    /// numerics modes (llama.cpp's mul_mat_id also computes each row in one order).
    @Test(arguments: NumericsMode.allCases)
    func sequenceLogitsDoNotDependOnWhoSharesItsExperts(_ numerics: NumericsMode) throws {
        let m = try Self.model(numerics)
        var batch = Batch()
        for s in 0..<3 { for (i, t) in Self.prompts[s].enumerated() { batch.append(.init(token: t, position: Int32(i), sequence: s, wantsLogits: false)) } }
        let chosen = try Self.expertsOfLayer0(m, batch)
        let first = chosen[0..<Self.prompts[0].count].reduce(Set<Int>()) { $0.union($1) }
        let others = chosen[Self.prompts[0].count...].reduce(Set<Int>()) { $0.union($1) }
        #expect(!first.isDisjoint(with: others), "sequence 0 shares no expert with the others in layer 0")
        #expect(chosen.reduce(Set<Int>()) { $0.union($1) }.count >= 4, "the router spreads tokens over the experts")

        let alone = try Self.logitsOfFirst(m, sequences: [0])
        let batched = try Self.logitsOfFirst(m, sequences: [0, 1, 2])
        for step in alone.indices {
            let differing = zip(alone[step], batched[step]).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(numerics) step \(step): \(differing) logits differ alone vs batched")
        }
    }

    /// qwen3moe.gguf with per-expert biases on gate, up and down (`[rows, experts]`, as gpt-oss
    /// stores them) and a router bias, each `scale`·sin(i).
    static func withBiases(_ scale: Float) throws -> TransformerModel {
        let file = try GGUFFile(path: ArchitectureFixture.folder + "/qwen3moe.gguf")
        var writer = GGUFWriter()
        writer.metadata = file.metadata
        for t in file.tensors { writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: Array(file.data(for: t))) }
        for layer in 0..<4 {
            for (name, shape) in [("ffn_gate_exps.bias", [32, 8]), ("ffn_up_exps.bias", [32, 8]), ("ffn_down_exps.bias", [64, 8]),
                                  ("ffn_gate_inp.bias", [8])] {
                let values = (0..<shape.reduce(1, *)).map { scale * Float(sin(Double($0 + layer))) }
                writer.addTensor(name: "blk.\(layer).\(name)", shape: shape, values: values)
            }
        }
        let m = try TransformerModel(file: try GGUFFile(bytes: writer.serialized()), threads: 2)
        m.numerics = .invariant
        return m
    }

    /// Per-expert and router biases are bound and added: zero biases change no bit of the
    /// logits, non-zero ones change them; and rows still do not depend on their batch.
    @Test func expertBiasesAreAddedPerExpert() throws {
        let plain = try Self.logitsOfFirst(try Self.model(.invariant), sequences: [0])
        let zero = try Self.withBiases(0)
        let e = try #require(zero.weights.layers[0].experts)
        #expect(e.gateBias?.count == 256 && e.upBias?.count == 256 && e.downBias?.count == 512 && e.routerBias?.count == 8)
        #expect(try Self.logitsOfFirst(zero, sequences: [0]).elementsEqual(plain) { zip($0, $1).allSatisfy { $0.bitPattern == $1.bitPattern } })
        let biased = try Self.withBiases(0.5)
        let alone = try Self.logitsOfFirst(biased, sequences: [0])
        #expect(zip(alone[0], plain[0]).contains { abs($0 - $1) > 1e-3 })
        let batched = try Self.logitsOfFirst(biased, sequences: [0, 1, 2])
        #expect(alone.elementsEqual(batched) { zip($0, $1).allSatisfy { $0.bitPattern == $1.bitPattern } })
    }

    @Test func activeParametersCountTheUsedExpertsOnly() throws {
        let m = try Self.model(.invariant)
        let p = m.parameterCount
        // per layer: 3 expert tensors of 8 × 32 × 64; 2 of 8 experts active
        let expertElements = 4 * 3 * 8 * 32 * 64
        #expect(p.total == m.file.tensors.reduce(0) { $0 + $1.elementCount })
        #expect(p.total - p.active == expertElements / 8 * 6)
        #expect(p.activeBytes < p.totalBytes)
        let dense = try TransformerModel(path: ArchitectureFixture.folder + "/qwen3.gguf", threads: 1).parameterCount
        #expect(dense.active == dense.total && dense.activeBytes == dense.totalBytes)
    }
}
