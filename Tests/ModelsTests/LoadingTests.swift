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
}
