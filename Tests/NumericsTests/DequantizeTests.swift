import Foundation
import Testing
import GGUF
@testable import CriaNumerics

/// Every storage format against gguf-py's numpy dequantizer (scripts/make-fixtures.py wrote
/// both the random blocks and the reference values). Tolerance: none — bit-identical f32,
/// since both sides do the same f32 operations in the same order.
@Suite struct DequantizeTests {
    static let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/dequant.gguf"
    static let formats: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
                                      .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq4_nl, .iq4_xs]

    @Test(arguments: formats)
    func matchesNumpyReference(_ type: GGMLType) throws {
        let file = try GGUFFile(path: Self.fixturePath)
        let name = type.name.lowercased()
        let quantized = try #require(file.tensor(named: name))
        let expectedInfo = try #require(file.tensor(named: name + ".expected"))
        #expect(quantized.type == type)
        let got = try Dequantize.tensor(quantized, in: file)
        let expected = try Dequantize.tensor(expectedInfo, in: file)
        #expect(got.count == expected.count)
        var mismatches = 0
        for (g, e) in zip(got, expected) where g.bitPattern != e.bitPattern {
            mismatches += 1
        }
        #expect(mismatches == 0, "\(mismatches) of \(got.count) values differ for \(type.name)")
        // The fixture includes extreme scales; make sure they produced large magnitudes.
        if type.blockSize > 1 { #expect(expected.contains { abs($0) > 1000 }) }
    }

    @Test func rowByRowEqualsWholeTensor() throws {
        let file = try GGUFFile(path: Self.fixturePath)
        let info = try #require(file.tensor(named: "q4_k"))
        let whole = try Dequantize.tensor(info, in: file)
        let bytes = file.data(for: info)
        var row = [Float](repeating: 0, count: info.rowLength)
        try row.withUnsafeMutableBufferPointer { out in
            try Dequantize.row(.q4_K, bytes.baseAddress! + info.rowByteCount, count: info.rowLength, into: out.baseAddress!)
        }
        #expect(row == Array(whole[info.rowLength..<2 * info.rowLength]))
    }

    @Test func partialBlockIsAnError() {
        var out = [Float](repeating: 0, count: 64)
        let src = [UInt8](repeating: 0, count: 64)
        #expect(throws: NumericsError.partialBlock(type: "Q4_0", count: 33, blockSize: 32)) {
            try src.withUnsafeBytes { s in
                try out.withUnsafeMutableBufferPointer { try Dequantize.row(.q4_0, s.baseAddress!, count: 33, into: $0.baseAddress!) }
            }
        }
    }

    @Test func unsupportedFormatNamesItself() {
        var out = [Float](repeating: 0, count: 256)
        let src = [UInt8](repeating: 0, count: 256)
        #expect(throws: NumericsError.unsupportedType("IQ2_XXS")) {
            try src.withUnsafeBytes { s in
                try out.withUnsafeMutableBufferPointer { try Dequantize.row(.iq2_xxs, s.baseAddress!, count: 256, into: $0.baseAddress!) }
            }
        }
    }
}

extension GGMLType: CustomTestStringConvertible {
    public var testDescription: String { name }
}
