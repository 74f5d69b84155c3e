import Testing
@testable import GGUF

/// The real test model (scripts/fetch-model): the facts `cria info` must report.
@Suite struct RealModelTests {
    @Test func gemma3Directory() throws {
        let file = try GGUFFile(path: TestPaths.model)
        #expect(file.metadata.string("general.architecture") == "gemma3")
        #expect(file.metadata.uint32("gemma3.block_count") == 18)
        #expect(file.metadata.uint32("gemma3.embedding_length") == 640)
        #expect(file.tensors.count == 236)
        #expect(file.metadata.stringArray("tokenizer.ggml.tokens")?.count == 262_144)
        let embd = try #require(file.tensor(named: "token_embd.weight"))
        #expect(embd.type == .q8_0)
        #expect(embd.shape == [640, 262_144])
        let types = Set(file.tensors.map(\.type))
        #expect(types == [.f32, .q8_0, .q5_0, .q4_K, .q6_K])
        let last = file.tensors.max { $0.offset < $1.offset }!
        #expect(file.dataOffset + Int(last.offset) + last.byteCount <= file.fileSize)
    }
}
