import Foundation
import Testing
import GGUF
@testable import CriaNumerics
import TestSupport

/// Attention sinks (gpt-oss: one learned logit per head that joins the softmax's denominator
/// and carries no value): every path against a float64 softmax with the sink in its sum
/// (tolerance 2e-3 with the f16 accumulator of the streaming kernel, whose rounding is ~5e-4
/// relative; 1e-4 with the tiled kernel's f32 one), the C paths bit for bit against the portable
/// loop, and without sinks the bits of a call that passes none.
@Suite struct AttentionSinkTests {
    struct Case {
        let hd: Int, cells: Int, stride: Int
        let q: [Float], keys: [Float16], values: [Float16], positions: [Int32]
    }

    static func makeCase(hd: Int, heads: Int, cells: Int, seed: UInt64) -> Case {
        var rng = SplitMix(seed: seed)
        func r() -> Float { Float(rng.next() % 20001) / 10000 - 1 }
        let stride = hd + 8
        return Case(hd: hd, cells: cells, stride: stride, q: (0..<heads * hd).map { _ in r() * 3 },
                    keys: (0..<cells * stride).map { _ in Float16(r()) }, values: (0..<cells * stride).map { _ in Float16(r()) },
                    positions: (0..<Int32(cells)).map { $0 })
    }

    /// Σ_c e^(s_c − m)·v_c / (Σ_c e^(s_c − m) + e^(sink − m)) in Double, m over scores and sink.
    static func reference(_ c: Case, query q: ArraySlice<Float>, position p: Int32, window: Int?, scale: Double,
                          sink: Double?) -> [Double] {
        var scores: [(Int, Double)] = []
        for cell in 0..<c.cells where Attention.isVisible(cellPosition: c.positions[cell], queryPosition: p, window: window) {
            var dot = 0.0
            for e in 0..<c.hd { dot += Double(c.keys[cell * c.stride + e]) * Double(q[q.startIndex + e]) }
            scores.append((cell, dot * scale))
        }
        let m = (scores.map(\.1) + (sink.map { [$0] } ?? [])).max() ?? 0
        let z = scores.reduce(0.0) { $0 + exp($1.1 - m) } + (sink.map { exp($0 - m) } ?? 0)
        return (0..<c.hd).map { e in scores.reduce(0.0) { $0 + exp($1.1 - m) / z * Double(c.values[$1.0 * c.stride + e]) } }
    }

    func streaming(_ c: Case, heads: Int, position: Int32, window: Int?, sinks: [Float]?, path: KernelPath) -> [Float] {
        var out = [Float](repeating: .nan, count: heads * c.hd)
        var scratch = [UInt8](repeating: 0, count: Attention.scratchBytes(heads: heads, headDimension: c.hd))
        scratch.withUnsafeMutableBytes { s in
            out.withUnsafeMutableBufferPointer { o in
                func run(_ sinkPointer: UnsafePointer<Float>?) {
                    Attention.attendHeads(queries: c.q, queryStride: c.hd, heads: heads, keys: c.keys, values: c.values,
                                          stride: c.stride, positions: c.positions, cellCount: c.cells, queryPosition: position,
                                          window: window, scale: 0.125, sinks: sinkPointer, headDimension: c.hd,
                                          scratch: s.baseAddress!, into: o.baseAddress!, outputStride: c.hd, path: path)
                }
                if let sinks { sinks.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
            }
        }
        return out
    }

    /// Sinks below, between and above the scores (both branches of the update), on each path.
    @Test(arguments: [KernelPath.portable] + KernelDispatch.available)
    func streamingAttentionWithSinksMatchesFloat64(_ path: KernelPath) {
        let heads = 3
        for (hd, cells) in [(64, 50), (72, 33)] {
            let c = Self.makeCase(hd: hd, heads: heads, cells: cells, seed: UInt64(hd))
            let sinks: [Float] = [-4, 0.3, 8]
            for window in [nil, 7] as [Int?] {
                let got = streaming(c, heads: heads, position: Int32(cells - 2), window: window, sinks: sinks, path: path)
                let portable = streaming(c, heads: heads, position: Int32(cells - 2), window: window, sinks: sinks, path: .portable)
                #expect(got.map(\.bitPattern) == portable.map(\.bitPattern), "\(path) hd \(hd)")
                for h in 0..<heads {
                    let expected = Self.reference(c, query: c.q[h * hd..<(h + 1) * hd], position: Int32(cells - 2),
                                                  window: window, scale: 0.125, sink: Double(sinks[h]))
                    let worst = (0..<hd).map { abs(Double(got[h * hd + $0]) - expected[$0]) }.max()!
                    #expect(worst <= 2e-3, "\(path) hd \(hd) head \(h) window \(String(describing: window)): \(worst)")
                }
                // The sink takes weight: a large one shrinks the output towards zero.
                let without = streaming(c, heads: heads, position: Int32(cells - 2), window: window, sinks: nil, path: path)
                let norm = { (x: ArraySlice<Float>) in x.reduce(0) { $0 + abs($1) } }
                #expect(norm(got[2 * hd..<3 * hd]) < norm(without[2 * hd..<3 * hd]) / 10)
            }
        }
    }

    /// Quantized caches (f32 accumulator): each path gives the portable loop's bits with sinks, and
    /// the result is within 0.01 of a float64 softmax over the dequantized rows with the sink in
    /// its denominator (the query's Q8_0 rounding dominates, as in KVCacheFormatTests).
    @Test(arguments: KernelDispatch.available)
    func quantizedCacheWithSinksMatchesPortable(_ path: KernelPath) {
        var rng = SplitMix(seed: 29)
        func r() -> Float { Float(rng.next() % 20001) / 10000 - 1 }
        let hd = 64, heads = 3, cells = 40
        let sinks: [Float] = [-3, 0.4, 7]
        for (keyType, valueType) in [(GGMLType.q8_0, GGMLType.q8_0), (.q4_0, .q8_0), (.f16, .q8_0)] {
            let q = (0..<heads * hd).map { _ in r() * 2 }
            let keyFloats = (0..<cells * hd).map { _ in r() }, valueFloats = (0..<cells * hd).map { _ in r() }
            let keys = KVCacheFormatTests.storedRows(keyFloats, width: hd, cells: cells, type: keyType)
            let values = KVCacheFormatTests.storedRows(valueFloats, width: hd, cells: cells, type: valueType)
            let positions = (0..<Int32(cells)).map { $0 }
            var results: [[Float]] = []
            for p in [KernelPath.portable, path] {
                var out = [Float](repeating: .nan, count: heads * hd)
                var scratch = [UInt8](repeating: 0, count: Attention.scratchBytes(heads: heads, headDimension: hd))
                keys.withUnsafeBytes { k in
                    values.withUnsafeBytes { v in
                        scratch.withUnsafeMutableBytes { s in
                            out.withUnsafeMutableBufferPointer { o in
                                let rows = Attention.CachedRows(
                                    keys: k.baseAddress!, keyType: keyType, keyStride: KVCacheFormats.rowBytes(keyType, count: hd),
                                    values: v.baseAddress!, valueType: valueType,
                                    valueStride: KVCacheFormats.rowBytes(valueType, count: hd))
                                Attention.attendHeads(queries: q, queryStride: hd, heads: heads, rows: rows, positions: positions,
                                                      cellCount: cells, queryPosition: 35, window: nil, scale: 0.125, sinks: sinks,
                                                      headDimension: hd, scratch: s.baseAddress!, into: o.baseAddress!,
                                                      outputStride: hd, path: p)
                            }
                        }
                    }
                }
                results.append(out)
            }
            #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern), "\(keyType.name)/\(valueType.name) \(path)")
            let kd = KVCacheFormatTests.dequantized(keys, type: keyType, width: hd, cells: cells)
            let vd = KVCacheFormatTests.dequantized(values, type: valueType, width: hd, cells: cells)
            let c = Case(hd: hd, cells: cells, stride: hd, q: q, keys: kd.map { Float16($0) }, values: vd.map { Float16($0) },
                         positions: positions)
            for h in 0..<heads {
                // (the reference reads the dequantized rows rounded to f16, ≤ 5e-4 relative: far
                // inside the tolerance)
                let expected = Self.reference(c, query: q[h * hd..<(h + 1) * hd], position: 35, window: nil, scale: 0.125,
                                              sink: Double(sinks[h]))
                let worst = (0..<hd).map { abs(Double(results[1][h * hd + $0]) - expected[$0]) }.max()!
                #expect(worst <= 0.01, "\(keyType.name)/\(valueType.name) head \(h): \(worst)")
            }
        }
    }

    /// A query that sees no cell gives zeros with a sink too (all weight on the sink).
    @Test(arguments: [KernelPath.portable] + KernelDispatch.available)
    func sinkAloneGivesZero(_ path: KernelPath) {
        let c = Self.makeCase(hd: 32, heads: 1, cells: 4, seed: 5)
        let out = streaming(c, heads: 1, position: -1, window: nil, sinks: [0.5], path: path)
        #expect(out.allSatisfy { $0 == 0 })
    }

    /// Tiled attention with a sink: each path gives the portable bits and the float64 softmax.
    @Test(arguments: KernelDispatch.available)
    func tiledAttentionWithSinkMatchesFloat64(_ path: KernelPath) {
        let hd = 64, count = 40, cells = 90
        let c = Self.makeCase(hd: hd, heads: count, cells: cells, seed: 17)
        let rows = (0..<Int32(count)).map { $0 }
        let queryPositions = (0..<Int32(count)).map { $0 * 2 + 5 }
        for sink in [-2, 0.5, 8] as [Float] {
            var results: [[Float]] = []
            for p in [KernelPath.portable, path] {
                var out = [Float](repeating: .nan, count: count * hd)
                out.withUnsafeMutableBufferPointer { o in
                    Attention.attendTiled(queries: c.q, queryStride: hd, rows: rows, queryPositions: queryPositions, count: count,
                                          keys: c.keys, values: c.values, stride: c.stride, positions: c.positions,
                                          cellCount: cells, window: nil, scale: 0.125, sink: sink, headDimension: hd,
                                          into: o.baseAddress!, outputStride: hd, path: p)
                }
                results.append(out)
            }
            #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern), "\(path) sink \(sink)")
            for i in [0, count / 2, count - 1] {
                let expected = Self.reference(c, query: c.q[i * hd..<(i + 1) * hd], position: queryPositions[i], window: nil,
                                              scale: 0.125, sink: Double(sink))
                let worst = (0..<hd).map { abs(Double(results[1][i * hd + $0]) - expected[$0]) }.max()!
                #expect(worst <= 1e-4, "\(path) sink \(sink) row \(i): \(worst)")
            }
        }
    }
}
