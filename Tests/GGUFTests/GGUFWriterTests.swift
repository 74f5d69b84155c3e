import Testing
@testable import GGUF

/// The writer round-trips through the reader, including the values gguf-py cannot write.
@Suite struct GGUFWriterTests {
    static func sampleWriter() -> GGUFWriter {
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("llama")
        w.metadata["a.u8"] = .uint8(1)
        w.metadata["a.i64"] = .int64(-5)
        w.metadata["a.f64"] = .float64(1e300)
        w.metadata["a.empty"] = .array(.string, [])
        w.metadata["a.empty_string"] = .string("")
        w.metadata["a.nested"] = .array(.array, [.array(.string, [.string("x")]), .array(.uint8, [])])
        w.addTensor(name: "t0", shape: [8, 2], values: (0..<16).map(Float.init))
        w.addTensor(name: "t1", shape: [32], type: .q8_0, data: [UInt8](repeating: 0, count: 34))
        return w
    }

    @Test func roundTrip() throws {
        let w = Self.sampleWriter()
        let file = try GGUFFile(bytes: w.serialized())
        #expect(file.metadata.keys == w.metadata.keys)
        for (key, value) in w.metadata.entries { #expect(file.metadata[key] == value) }
        #expect(file.tensors.map(\.name) == ["t0", "t1"])
        #expect(file.tensors[1].type == .q8_0)
        #expect(file.tensors[1].byteCount == 34)
        #expect(file.tensors[1].offset == 64)
        let t0 = file.data(for: file.tensors[0]).withMemoryRebound(to: Float.self) { Array($0) }
        #expect(t0 == (0..<16).map(Float.init))
    }

    @Test func versionTwoReadsLikeThree() throws {
        var w = Self.sampleWriter()
        w.version = 2
        let file = try GGUFFile(bytes: w.serialized())
        #expect(file.version == 2)
        #expect(file.tensors.count == 2)
    }

    @Test func writesToDisk() throws {
        let path = "/tmp/cria-writer-test-\(getpid()).gguf"
        try Self.sampleWriter().write(to: path)
        defer { unlink(path) }
        let file = try GGUFFile(path: path)
        #expect(file.metadata.string("general.architecture") == "llama")
    }
}

#if canImport(Glibc)
import Glibc
#endif
