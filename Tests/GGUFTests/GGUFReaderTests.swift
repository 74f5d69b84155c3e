import Foundation
import Testing
@testable import GGUF

/// The reader against a file written by gguf-py (scripts/make-fixtures.py), an independent writer.
@Suite struct GGUFReaderTests {
    let file: GGUFFile

    init() throws {
        file = try GGUFFile(path: TestPaths.fixture("metadata.gguf"))
    }

    @Test func headerAndAlignment() {
        #expect(file.version == 3)
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        #expect(file.metadata.string("general.architecture") == "fixture")
    }

    @Test func everyScalarType() {
        let m = file.metadata
        #expect(m["test.u8"] == .uint8(200))
        #expect(m["test.i8"] == .int8(-100))
        #expect(m["test.u16"] == .uint16(60000))
        #expect(m["test.i16"] == .int16(-30000))
        #expect(m["test.u32"] == .uint32(4_000_000_000))
        #expect(m["test.i32"] == .int32(-2_000_000_000))
        #expect(m["test.f32"] == .float32(0.15625))
        #expect(m["test.u64"] == .uint64(18_000_000_000_000_000_000))
        #expect(m["test.i64"] == .int64(-9_000_000_000_000_000_000))
        #expect(m["test.f64"] == .float64(-2.718281828459045))
        #expect(m.bool("test.bool_true") == true)
        #expect(m.bool("test.bool_false") == false)
        #expect(m.string("test.string") == "héllo <start_of_turn>\n")
    }

    @Test func typedAccessorsConvertOnlyWhenLossless() {
        let m = file.metadata
        #expect(m.uint32("test.u32") == 4_000_000_000)
        #expect(m.int32("test.u32") == nil)
        #expect(m.uint32("test.u8") == 200)
        #expect(m.int("test.i64") == -9_000_000_000_000_000_000)
        #expect(m.uint64("test.u64") == 18_000_000_000_000_000_000)
        #expect(m.int("test.u64") == nil)
        #expect(m.float("test.f64") == Float(-2.718281828459045))
        #expect(m.string("test.u8") == nil)
        #expect(m.uint32("missing.key") == nil)
    }

    @Test func arrays() {
        let m = file.metadata
        #expect(m.intArray("test.int_array") == [1, -2, 3])
        #expect(m.floatArray("test.float_array") == [0.5, -1.25])
        #expect(m.stringArray("test.string_array") == ["a", "", "ünï"])
        #expect(m["test.nested_array"] == .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [.int32(3)])]))
        #expect(m.stringArray("test.int_array") == nil)
    }

    @Test func requireNamesTheKey() {
        let m = file.metadata
        #expect(throws: GGUFError.missingKey("nope")) { try m.requireInt("nope") }
        #expect(throws: GGUFError.wrongValueType(key: "test.string", expected: "integer", found: "str")) {
            try m.requireInt("test.string")
        }
        #expect(GGUFError.missingKey("gemma3.block_count").description.contains("gemma3.block_count"))
    }

    @Test func tensorDirectoryAndData() throws {
        #expect(file.tensors.map(\.name) == ["weights.f32", "weights.f16", "weights.i32"])
        let f32 = try #require(file.tensor(named: "weights.f32"))
        #expect(f32.shape == [4, 3])
        #expect(f32.type == .f32)
        #expect(f32.byteCount == 48)
        let values = file.data(for: f32).withMemoryRebound(to: Float.self) { Array($0) }
        #expect(values == (0..<12).map(Float.init))
        let i32 = try #require(file.tensor(named: "weights.i32"))
        #expect(i32.type == .i32)
        let ints = file.data(for: i32).withMemoryRebound(to: Int32.self) { Array($0) }
        #expect(ints == [7, -7, 1 << 30])
        let f16 = try #require(file.tensor(named: "weights.f16"))
        #expect(f16.shape == [64])
        #expect(f16.offset % 64 == 0)
    }

    @Test func readModeMatchesMmap() throws {
        let read = try GGUFFile(path: TestPaths.fixture("metadata.gguf"), mode: .read)
        #expect(read.tensors == file.tensors)
        #expect(Array(read.storage.bytes) == Array(file.storage.bytes))
    }

    @Test func missingFileIsAClearError() {
        #expect {
            try GGUFFile(path: "/nonexistent/model.gguf")
        } throws: { error in
            "\(error)".contains("/nonexistent/model.gguf")
        }
    }
}
