import Foundation
import Testing
import GGUF
@testable import CriaNumerics

/// Every storage format against gguf-py's numpy dequantizer (scripts/make-fixtures.py wrote
/// both the random blocks and the reference values). Tolerance: none — bit-identical f32,
/// since both sides do the same f32 operations in the same order (MXFP4's fixture includes
/// scales whose products overflow: ±inf must match too).
@Suite struct DequantizeTests {
    static let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/dequant.gguf"
    static let formats: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
                                      .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq4_nl, .iq4_xs,
                                      .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m,
                                      .tq1_0, .tq2_0, .mxfp4]

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

    /// NVFP4 is named (files holding it can be listed) but not computable.
    @Test func unsupportedFormatNamesItself() {
        var out = [Float](repeating: 0, count: 256)
        let src = [UInt8](repeating: 0, count: 256)
        #expect(!Dequantize.isSupported(.nvfp4))
        #expect(throws: NumericsError.unsupportedType("NVFP4")) {
            try src.withUnsafeBytes { s in
                try out.withUnsafeMutableBufferPointer { try Dequantize.row(.nvfp4, s.baseAddress!, count: 256, into: $0.baseAddress!) }
            }
        }
    }

    /// The generated grids are gguf-py's: spot values from ggml's published tables, and every
    /// point made of the format's levels only (a shifted or truncated table fails here before
    /// it fails a dequantization).
    @Test func latticeTablesHaveTheirShapes() {
        #expect(IQGrids.iq2xxs.count == 256 && IQGrids.iq2xs.count == 512 && IQGrids.iq2s.count == 1024)
        #expect(IQGrids.iq3xxs.count == 256 && IQGrids.iq3s.count == 512 && IQGrids.iq1s.count == 2048)
        #expect(IQGrids.iq2xxs[0] == 0x0808080808080808 && IQGrids.iq2xxs[1] == 0x080808080808082b)
        #expect(IQGrids.iq1s[0] == 0xffffffffffffffff)
        func bytes(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) } }
        for grid in [IQGrids.iq2xxs, IQGrids.iq2xs, IQGrids.iq2s] {
            #expect(grid.allSatisfy { bytes($0, 8).allSatisfy { [8, 25, 43].contains($0) } })
            #expect(Set(grid).count == grid.count)
        }
        #expect(IQGrids.iq3xxs.allSatisfy { bytes(UInt64($0), 4).allSatisfy { [4, 12, 20, 28, 36, 44, 52, 62].contains($0) } })
        #expect(IQGrids.iq3s.allSatisfy { bytes(UInt64($0), 4).allSatisfy { $0 % 2 == 1 && $0 <= 15 } })
        #expect(IQGrids.iq1s.allSatisfy { bytes($0, 8).allSatisfy { [0xFF, 0, 1].contains($0) } })
        #expect(IQGrids.ksigns.enumerated().allSatisfy { i, s in Int(s) == i | (i.nonzeroBitCount % 2) << 7 })
    }
}

extension GGMLType: CustomTestStringConvertible {
    public var testDescription: String { name }
}
