import Foundation
import Testing
import GGUF
@testable import CriaNumerics
import TestSupport

/// The quantized KV cache (`-ctk`/`-ctv` q8_0, q4_0): its row quantizers against gguf-py's numpy
/// quantizers (bit-identical bytes, scripts/make-fixtures.py), and attention over quantized rows:
/// every dispatch path gives the portable loop's bits, and the result is close to a float64
/// softmax over the dequantized rows (tolerance stated at the check).
@Suite struct KVCacheFormatTests {
    static let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/kvquant.gguf"

    @Test(arguments: [GGMLType.q4_0, .q8_0])
    func storeMatchesNumpyQuantizer(_ type: GGMLType) throws {
        let file = try GGUFFile(path: Self.fixturePath)
        let input = try Dequantize.tensor(try #require(file.tensor(named: "input")), in: file)
        let info = try #require(file.tensor(named: type.name.lowercased()))
        let expected = Array(file.data(for: info))
        let rowLength = info.rowLength, rowBytes = KVCacheFormats.rowBytes(type, count: rowLength)
        #expect(expected.count == input.count / rowLength * rowBytes)
        for path in [KernelPath.portable] + KernelDispatch.available {
            var got = [UInt8](repeating: 0xAA, count: expected.count)
            input.withUnsafeBufferPointer { x in
                got.withUnsafeMutableBytes { out in
                    for r in 0..<input.count / rowLength {
                        KVCacheFormats.store(x.baseAddress! + r * rowLength, count: rowLength, as: type,
                                             into: out.baseAddress! + r * rowBytes, path: path)
                    }
                }
            }
            let differing = zip(got, expected).filter { $0 != $1 }.count
            #expect(differing == 0, "\(type.name) \(path): \(differing) of \(expected.count) bytes differ from gguf-py")
        }
    }

    @Test func namesAndSizes() {
        #expect(KVCacheFormats.named("Q8_0") == .q8_0)
        #expect(KVCacheFormats.named("f16") == .f16)
        #expect(KVCacheFormats.named("q4_0") == .q4_0)
        #expect(KVCacheFormats.named("bf16") == nil)
        #expect(KVCacheFormats.named("") == nil)
        #expect(KVCacheFormats.rowBytes(.f16, count: 256) == 512)
        #expect(KVCacheFormats.rowBytes(.q8_0, count: 256) == 272)  // 53% of f16
        #expect(KVCacheFormats.rowBytes(.q4_0, count: 256) == 144)
        #expect(!KVCacheFormats.fits(.q8_0, count: 72))
    }

    /// Rotation sizes follow llama.cpp's rule: keys by the largest power of two from 64 up that
    /// divides the head, values by 64, nothing for f16 or a head that is not a multiple of 64.
    @Test func rotationSizes() {
        #expect(KVCacheFormats.rotation(for: .q8_0, headDimension: 256, keys: true) == 256)
        #expect(KVCacheFormats.rotation(for: .q4_0, headDimension: 192, keys: true) == 64)
        #expect(KVCacheFormats.rotation(for: .q8_0, headDimension: 128, keys: false) == 64)
        #expect(KVCacheFormats.rotation(for: .f16, headDimension: 256, keys: true) == 0)
        #expect(KVCacheFormats.rotation(for: .q8_0, headDimension: 96, keys: true) == 0)
    }

    /// The fast transform against the Sylvester–Hadamard matrix H[i][j] = (−1)^popcount(i&j)/√n in
    /// float64 (tolerance 1e-5 relative to the row's norm: log2 n rounded f32 additions), and its
    /// own inverse: applied twice it returns the input within the same tolerance.
    @Test(arguments: [64, 128, 256])
    func hadamardIsTheOrthonormalSylvesterMatrix(_ n: Int) {
        var rng = SplitMix(seed: UInt64(n))
        let x = (0..<2 * n).map { _ in Float(rng.next() % 20001) / 10000 - 1 }
        var y = x
        y.withUnsafeMutableBufferPointer { KVCacheFormats.hadamard($0.baseAddress!, count: 2 * n, block: n) }
        let norm = Double(n).squareRoot()
        for b in 0..<2 {
            let scale = x[b * n..<(b + 1) * n].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            for i in 0..<n {
                var expected = 0.0
                for j in 0..<n { expected += ((i & j).nonzeroBitCount % 2 == 0 ? 1 : -1) * Double(x[b * n + j]) }
                #expect(abs(Double(y[b * n + i]) - expected / norm) <= 1e-5 * scale, "n \(n) block \(b) i \(i)")
            }
        }
        y.withUnsafeMutableBufferPointer { KVCacheFormats.hadamard($0.baseAddress!, count: 2 * n, block: n) }
        for i in 0..<2 * n { #expect(abs(y[i] - x[i]) <= 1e-5) }
    }

    /// Random f32 rows stored in `type`, `cells` rows of `width` values.
    static func storedRows(_ values: [Float], width: Int, cells: Int, type: GGMLType) -> [UInt8] {
        let rowBytes = KVCacheFormats.rowBytes(type, count: width)
        var out = [UInt8](repeating: 0, count: cells * rowBytes)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBytes { o in
                for c in 0..<cells {
                    KVCacheFormats.store(x.baseAddress! + c * width, count: width, as: type,
                                         into: o.baseAddress! + c * rowBytes)
                }
            }
        }
        return out
    }

    static let combinations: [(GGMLType, GGMLType)] = [(.q8_0, .q8_0), (.q4_0, .q4_0), (.q8_0, .f16), (.f16, .q8_0),
                                                        (.q4_0, .q8_0)]

    @Test(arguments: KernelDispatch.available)
    func quantizedAttentionMatchesPortable(_ path: KernelPath) throws {
        var rng = SplitMix(seed: 21)
        func r() -> Float { Float(rng.next() % 20001) / 10000 - 1 }
        for (keyType, valueType) in Self.combinations {
            for (hd, heads) in [(256, 4), (64, 1), (96, 3)] {
                let cells = 70, width = 2 * hd  // two KV heads per row; the test reads the second
                let q = (0..<heads * hd).map { _ in r() * 2 }
                let keyFloats = (0..<cells * width).map { _ in r() }, valueFloats = (0..<cells * width).map { _ in r() }
                let keys = Self.storedRows(keyFloats, width: width, cells: cells, type: keyType)
                let values = Self.storedRows(valueFloats, width: width, cells: cells, type: valueType)
                let positions = (0..<Int32(cells)).map { $0 * 2 }
                let keyRow = KVCacheFormats.rowBytes(keyType, count: width), valueRow = KVCacheFormats.rowBytes(valueType, count: width)
                let keyHead = KVCacheFormats.rowBytes(keyType, count: hd), valueHead = KVCacheFormats.rowBytes(valueType, count: hd)
                for window in [nil, 11] as [Int?] {
                    var results: [[Float]] = []
                    for p in [KernelPath.portable, path] {
                        var out = [Float](repeating: .nan, count: heads * hd)
                        var scratch = [UInt8](repeating: 0, count: Attention.scratchBytes(heads: heads, headDimension: hd))
                        keys.withUnsafeBytes { k in
                            values.withUnsafeBytes { v in
                                scratch.withUnsafeMutableBytes { s in
                                    out.withUnsafeMutableBufferPointer { o in
                                        let rows = Attention.CachedRows(keys: k.baseAddress! + keyHead, keyType: keyType, keyStride: keyRow,
                                                                        values: v.baseAddress! + valueHead, valueType: valueType,
                                                                        valueStride: valueRow)
                                        Attention.attendHeads(queries: q, queryStride: hd, heads: heads, rows: rows,
                                                              positions: positions, cellCount: cells, queryPosition: 101,
                                                              window: window, scale: 0.125, headDimension: hd,
                                                              scratch: s.baseAddress!, into: o.baseAddress!, outputStride: hd, path: p)
                                    }
                                }
                            }
                        }
                        results.append(out)
                    }
                    let label = "\(keyType.name)/\(valueType.name) \(path) hd \(hd) heads \(heads) window \(String(describing: window))"
                    let differing = zip(results[0], results[1]).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "\(label): \(differing) of \(heads * hd) outputs differ from the portable loop")

                    // float64 softmax over the dequantized rows with the exact query. What remains is
                    // the query's own Q8_0 rounding (quantized keys: up to max|q|/254 per element,
                    // random signs) and f32/f16 accumulation; measured largest errors are 2e-4 (f16
                    // keys), 6.4e-3 (Q8_0 keys) and 4.2e-3 (Q4_0 keys) with |v| ≤ 1. Tolerance 0.01.
                    let kd = Self.dequantized(keys, type: keyType, width: width, cells: cells)
                    let vd = Self.dequantized(values, type: valueType, width: width, cells: cells)
                    var worst = 0.0
                    for h in 0..<heads {
                        var scores: [(Int, Double)] = []
                        for c in 0..<cells where Attention.isVisible(cellPosition: positions[c], queryPosition: 101, window: window) {
                            var dot = 0.0
                            for e in 0..<hd { dot += Double(kd[c * width + hd + e]) * Double(q[h * hd + e]) }
                            scores.append((c, dot * 0.125))
                        }
                        let m = scores.map(\.1).max()!
                        let z = scores.reduce(0.0) { $0 + Foundation.exp($1.1 - m) }
                        for e in 0..<hd {
                            let expected = scores.reduce(0.0) { $0 + Foundation.exp($1.1 - m) / z * Double(vd[$1.0 * width + hd + e]) }
                            worst = max(worst, abs(Double(results[1][h * hd + e]) - expected))
                        }
                    }
                    #expect(worst <= 0.01, "\(label): largest error \(worst)")
                }
            }
        }
    }

    static func dequantized(_ bytes: [UInt8], type: GGMLType, width: Int, cells: Int) -> [Float] {
        var out = [Float](repeating: 0, count: cells * width)
        bytes.withUnsafeBytes { b in
            out.withUnsafeMutableBufferPointer { o in
                Dequantize.rowUnchecked(type, b.baseAddress!, count: cells * width, into: o.baseAddress!)
            }
        }
        return out
    }
}
