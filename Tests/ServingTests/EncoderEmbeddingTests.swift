import Foundation
import Models
import Testing
import Tokenization
@testable import Serving

/// The engine serving the tiny `bert` and `nomic-bert` fixtures (see ModelsTests'
/// EncoderFixtureTests): tokenization as llama.cpp's, pooled embeddings as llama.cpp's, and the
/// refusals an embedding-only model gives.
@Suite struct EncoderEmbeddingTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ModelsTests/Fixtures/Architectures").path

    struct Text { let text: String; let tokens: [Int32]; let embedding: [Float] }

    static func recording(_ name: String) throws -> [String: [Text]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/\(name).llama-cpp.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var out: [String: [Text]] = [:]
        for run in try #require(root["runs"] as? [[String: Any]]) {
            out[try #require(run["pooling"] as? String)] = try #require(run["texts"] as? [[String: Any]]).map { t in
                Text(text: try #require(t["text"] as? String), tokens: try #require(t["tokens"] as? [Int]).map { Int32($0) },
                     embedding: try #require(t["embedding"] as? [Double]).map { Float($0) })
            }
        }
        return out
    }

    static func engine(_ name: String, pooling: Pooling, microBatch: Int = 512) throws -> (Engine, Tokenizer) {
        let model = try TransformerModel(path: folder + "/\(name).gguf", threads: 2)
        let tokenizer = try Tokenizer(file: model.file)
        let engine = try Engine(model: model, tokenizer: tokenizer,
                                configuration: EngineConfiguration(contextSize: 512, slotCount: 2, microBatchSize: microBatch,
                                                                   pooling: pooling))
        engine.start()
        return (engine, tokenizer)
    }

    static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        return v.map { Float(Double($0) / norm) }
    }

    /// The engine's pooled vectors (the model's own pooling, then `--pooling` mean and cls) equal
    /// llama.cpp's within ModelsTests' `EncoderFixture.tolerance` (1e-4 after normalization), and
    /// the texts tokenize to llama.cpp's tokens ([CLS] … [SEP] around the WordPiece tokens).
    @Test(arguments: [("bert", Pooling.cls), ("nomic-bert", Pooling.mean)])
    func embeddingsAndTokensEqualLlamaCpps(name: String, modelPooling: Pooling) async throws {
        let runs = try Self.recording(name)
        var maxDifference: Float = 0
        for (label, pooling) in [("model", modelPooling), ("mean", .mean), ("cls", .cls)] {
            let (engine, tokenizer) = try Self.engine(name, pooling: pooling)
            defer { engine.stop() }
            for t in try #require(runs[label]) {
                let tokens = tokenizer.tokenize(t.text, addSpecial: true)
                #expect(tokens == t.tokens, "\(t.text)")
                let vectors = try await engine.embed(tokens)
                #expect(vectors.count == 1)
                for (a, b) in zip(Self.normalized(vectors[0]), Self.normalized(t.embedding)) {
                    maxDifference = max(maxDifference, abs(a - b))
                }
            }
        }
        print("\(name) through the engine: max |Δ| of normalized embeddings vs llama.cpp = \(maxDifference)")
        #expect(maxDifference <= 1e-4)
    }

    @Test func completionsAreRefused() throws {
        let (engine, _) = try Self.engine("bert", pooling: .cls)
        defer { engine.stop() }
        #expect(throws: EngineError.embeddingModelOnly(architecture: "bert")) {
            _ = try engine.submit(GenerationRequest(promptTokens: [101, 7592, 102]))
        }
    }

    /// Bidirectional attention needs the whole input in one micro-batch (llama.cpp refuses too).
    @Test func inputsLongerThanTheMicroBatchAreRefused() async throws {
        let (engine, _) = try Self.engine("nomic-bert", pooling: .mean, microBatch: 8)
        defer { engine.stop() }
        await #expect(throws: EngineError.inputExceedsMicroBatch(tokens: 9, microBatchSize: 8)) {
            _ = try await engine.embed([101] + Array(repeating: 7592, count: 7) + [102])
        }
        let eight = try await engine.embed([101] + Array(repeating: 7592, count: 6) + [102])
        #expect(eight.count == 1 && eight[0].count == 32)
    }
}
