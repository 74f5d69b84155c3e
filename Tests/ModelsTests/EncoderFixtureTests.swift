import Foundation
import Testing
import GGUF
import CriaNumerics
@testable import Models

/// The tiny `bert` and `nomic-bert` models (Fixtures/Architectures/NAME.gguf, written by
/// scripts/make-encoder-fixtures.py with the architectures' real metadata, tensor layout and the
/// real 30 522-token BERT vocabulary) against llama.cpp's pooled embeddings for five texts
/// (NAME.llama-cpp.json, recorded by the same script with llama.cpp from the llama-cpp-python
/// 0.3.36 sdist), under the model's own pooling and under mean and cls.
enum EncoderFixture {
    static let folder = ArchitectureFixture.folder

    struct Text {
        let text: String
        let tokens: [Int32]
        let embedding: [Float]
    }

    /// pooling name ("model", "mean", "cls") → the texts as llama.cpp embedded them.
    static func recording(_ name: String) throws -> [(pooling: String, texts: [Text])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/\(name).llama-cpp.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let runs = try #require(root["runs"] as? [[String: Any]])
        return try runs.map { run in
            let texts = try #require(run["texts"] as? [[String: Any]]).map { t in
                Text(text: try #require(t["text"] as? String),
                     tokens: try #require(t["tokens"] as? [Int]).map { Int32($0) },
                     embedding: try #require(t["embedding"] as? [Double]).map { Float($0) })
            }
            return (try #require(run["pooling"] as? String), texts)
        }
    }

    /// v / ‖v‖₂, as both servers return embeddings.
    static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        return v.map { Float(Double($0) / norm) }
    }

    /// Greatest allowed |Δ| between Cria's and llama.cpp's normalized pooled embeddings. The
    /// matrices are Q8_0 and Cria reproduces llama.cpp's Q8_0 products and its f16 GELU table;
    /// the remaining differences come from summation orders (LayerNorm's sums, attention's
    /// softmax over f16 keys and values, mean pooling); measured: 6e-8 (bert), 9e-8 (nomic-bert).
    /// A wrong step (a missing bias, causal masking, a swapped norm) moves components by ≈ 0.01–1.
    static let tolerance: Float = 1e-4
}

@Suite struct EncoderFixtureTests {
    static func model(_ name: String) throws -> TransformerModel {
        try TransformerModel(path: EncoderFixture.folder + "/\(name).gguf", threads: 2)
    }

    /// Runs `tokens` as one batch and pools the hidden states (mean, or the first row for cls).
    static func pooled(_ model: TransformerModel, _ tokens: [Int32], cls: Bool) throws -> [Float] {
        let cache = model.makeCache(capacity: 512)
        let states = try model.forwardHidden(Batch(tokens: tokens, startPosition: 0), cache: cache)
        let d = model.config.embeddingLength
        if cls { return Array(states[0..<d]) }
        return (0..<d).map { j in (0..<tokens.count).reduce(Float(0)) { $0 + states[$1 * d + j] } / Float(tokens.count) }
    }

    @Test(arguments: [("bert", "cls"), ("nomic-bert", "mean")])
    func pooledEmbeddingsEqualLlamaCpps(name: String, modelPooling: String) throws {
        let model = try Self.model(name)
        var maxDifference: Float = 0
        for (pooling, texts) in try EncoderFixture.recording(name) {
            let cls = (pooling == "model" ? modelPooling : pooling) == "cls"
            for t in texts {
                let ours = EncoderFixture.normalized(try Self.pooled(model, t.tokens, cls: cls))
                let theirs = EncoderFixture.normalized(t.embedding)
                #expect(ours.count == theirs.count)
                for (a, b) in zip(ours, theirs) { maxDifference = max(maxDifference, abs(a - b)) }
            }
        }
        print("\(name): max |Δ| of normalized embeddings vs llama.cpp = \(maxDifference)")
        #expect(maxDifference <= EncoderFixture.tolerance)
    }

    @Test func bertReadsItsEncoderLayout() throws {
        let m = try Self.model("bert")
        let c = m.config
        #expect(c.isEncoder && !c.causalAttention && c.normKind == .layer && c.normalizesResiduals)
        #expect(c.activation == .gelu && !c.gatedFeedForward && c.tokenTypeCount == 2 && c.rmsEpsilon == 1e-12)
        #expect(c.ropeLayers == [false, false] && m.weights.outputNorm == nil)
        let input = try #require(m.weights.encoderInput)
        #expect(input.positions?.rows == 512 && input.positions?.type == .f16 && input.tokenType?.count == 32)
        let layer = m.weights.layers[0]
        #expect(layer.gate == nil && layer.upBias?.count == 64 && layer.queryBias?.count == 32)
        #expect(layer.postAttentionNormBias?.count == 32 && layer.postFFNNormBias?.count == 32)
    }

    @Test func nomicBertRotatesAndGates() throws {
        let m = try Self.model("nomic-bert")
        let c = m.config
        #expect(c.isEncoder && !c.causalAttention && c.ropeLayout == .neox && c.ropeBase == 1000)
        #expect(c.activation == .silu && c.gatedFeedForward && c.ropeLayers == [true, true])
        #expect(m.weights.encoderInput?.positions == nil)
        let layer = m.weights.layers[0]
        // q, k, v are consecutive row ranges of attn_qkv
        #expect(layer.key.data == layer.query.data + 32 * layer.query.rowBytes && layer.gate != nil)
    }

    /// Every row attends to the whole of its own sequence, later rows included, and to nothing
    /// else: two texts in one batch give what each gives alone, and the first row of a sequence
    /// changes when a later token does.
    @Test(arguments: ["bert", "nomic-bert"])
    func attentionIsBidirectionalWithinEachSequenceOnly(name: String) throws {
        let model = try Self.model(name)
        let texts = try EncoderFixture.recording(name)[0].texts
        let a = texts[1].tokens, b = texts[2].tokens
        let d = model.config.embeddingLength
        let alone = try model.forwardHidden(Batch(tokens: a, startPosition: 0), cache: model.makeCache(capacity: 512))
        var rows = Batch(tokens: a, startPosition: 0, sequence: 0).rows
        rows += Batch(tokens: b, startPosition: 0, sequence: 1).rows
        let cache = model.makeCache(capacity: 512)
        let together = try model.forwardHidden(Batch(rows: rows), cache: cache)
        #expect(Array(together[0..<(a.count * d)]) == alone)
        var changed = a
        changed[a.count - 2] = 2000
        let other = try model.forwardHidden(Batch(tokens: changed, startPosition: 0), cache: model.makeCache(capacity: 512))
        #expect(Array(other[0..<d]) != Array(alone[0..<d]))
    }

    @Test func encodersRefuseToPredictTokens() throws {
        let model = try Self.model("bert")
        #expect(throws: ModelError.self) {
            _ = try model.forward(Batch(tokens: [101, 7592, 102], startPosition: 0), cache: model.makeCache(capacity: 16))
        }
        // BERT's position embedding has 512 rows
        #expect(throws: ModelError.self) {
            _ = try model.forwardHidden(Batch(tokens: [101], startPosition: 512), cache: model.makeCache(capacity: 16))
        }
    }
}
