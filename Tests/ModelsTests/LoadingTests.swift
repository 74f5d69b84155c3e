import Foundation
import Testing
import GGUF
import CriaNumerics
@testable import Models

/// Loading: configuration from metadata and clear errors for models Cria cannot run.
@Suite struct LoadingTests {
    @Test func gemmaConfiguration() throws {
        let file = try GGUFFile(path: ModelPaths.model)
        let c = try ModelConfiguration(metadata: file.metadata, vocabularySize: 262_144)
        #expect(c.architecture == "gemma3")
        #expect(c.layerCount == 18)
        #expect(c.headCount == 4 && c.headCountKV == 1 && c.headDimension == 256)
        #expect(c.slidingLayers.enumerated().filter { !$0.element }.map(\.offset) == [5, 11, 17])
        #expect(c.ropeBase == 1_000_000 && c.ropeBaseSliding == 10_000)
        #expect(c.slidingWindow == 512)
        let norm = try Dequantize.tensor(file.tensor(named: "output_norm.weight")!, in: file)
        #expect(norm.count == 640)
    }

    /// A KV cache larger than the machine's memory is refused when it is made, naming the size.
    @Test func aCacheBeyondTheMachinesMemoryIsRefused() throws {
        let model = try TransformerModel(path: ArchitectureFixture.folder + "/llama3.gguf", threads: 1)
        let fits = try model.makeCache(capacity: 64, keyType: .f16, valueType: .f16, sequences: 4)
        #expect(fits.capacity == 64)
        let memory = ProcessInfo.processInfo.physicalMemory
        let perToken = try #require(fits.bytes(sequences: 1)) / 64  // exact: every cell takes the same bytes
        let tooMany = Int(memory / UInt64(perToken)) + 1
        for (capacity, sequences) in [(tooMany, 1), (tooMany / 4 + 1, 4), (Int.max / 2, 1)] {
            #expect(throws: ModelError.self) { try model.makeCache(capacity: capacity, keyType: .f16, valueType: .f16, sequences: sequences) }
            do { _ = try model.makeCache(capacity: capacity, keyType: .f16, valueType: .f16, sequences: sequences) } catch {
                #expect(error.description.contains("more than this machine's"), "\(error)")
            }
        }
    }
}

/// Which matrices loading copies into packed layouts: the LM head and every layer matrix a packed
/// kernel exists for; the token embedding only when it is the LM head (tied), since on its own it
/// is read a few rows at a time and the mapping keeps just those. A tied embedding's lookups come
/// from the copy, with the stored rows' values.
@Suite struct PackingOnLoadTests {
    @Test func tiedEmbeddingSharesTheHeadsCopyAndAnUntiedOneStaysMapped() throws {
        guard KernelDispatch.packsWeights, PackedWeights.supports(.q8_0, path: KernelDispatch.current) else {
            print("PackingOnLoadTests: this CPU's kernel path packs no Q8_0 (or CRIA_PACK=off); skipped")
            return
        }
        for (name, tied) in [("llama3", true), ("qwen3", false)] {
            let path = ArchitectureFixture.folder + "/\(name).gguf"
            let model = try TransformerModel(path: path, threads: 1)
            let w = model.weights
            #expect(w.output.packed != nil, "\(name): LM head packed")
            #expect(w.layers.allSatisfy { $0.query.packed != nil }, "\(name): layer matrices packed")
            if tied {
                #expect(w.tokenEmbedding.packed != nil && w.tokenEmbedding.packed == w.output.packed, "\(name): shares the head's copy")
            } else {
                #expect(w.tokenEmbedding.packed == nil, "\(name): an untied embedding is not copied")
            }
            // lookups give the stored rows' values (read from a second, untouched mapping of the file)
            let file = try GGUFFile(path: path)
            let info = try #require(file.tensor(named: "token_embd.weight"))
            let stored = try WeightMatrix(info, in: file)
            var fromModel = [Float](repeating: .nan, count: stored.columns), fromFile = [Float](repeating: .infinity, count: stored.columns)
            for r in [0, 17, stored.rows - 1] {
                fromModel.withUnsafeMutableBufferPointer { w.tokenEmbedding.dequantizeRow(r, into: $0.baseAddress!) }
                fromFile.withUnsafeMutableBufferPointer { stored.dequantizeRow(r, into: $0.baseAddress!) }
                #expect(fromModel.map(\.bitPattern) == fromFile.map(\.bitPattern), "\(name) row \(r)")
            }
        }
    }
}
