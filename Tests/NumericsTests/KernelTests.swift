import CNumerics
import Foundation
import Testing
import GGUF
@testable import CriaNumerics
import TestSupport

/// The matrix kernels of every dispatch path against references, on random data.
///
/// References: (1) the dequantize-then-f32 product Σ deq(w)·deq(a) in Double, where a is the
/// quantized activation row: tolerance 1e-3 of Σ|deq(w)|·|deq(a)| (per-block sums are exact,
/// so only f32 rounding and the f16-rounded Q8_1 sum differ); (2) the portable `QuantizedDot`:
/// bit-identical (the C kernels do the per-block float work in the reference's order).
@Suite struct KernelTests {
    static let formats: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl,
                                      .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs] + latticeTernaryFP4
    /// The lattice, ternary and FP4 formats: C kernels for TQ2_0 and MXFP4 only; on the C paths
    /// the others take the portable dot (so the bit-identity check above is trivial for them).
    static let latticeTernaryFP4: [GGMLType] = [.iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m,
                                                .tq1_0, .tq2_0, .mxfp4]

    /// Byte offsets of each format's f16 scale fields (random bytes there could be inf/NaN).
    static func scaleOffsets(_ t: GGMLType) -> [Int] {
        switch t {
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q2_K: return [80, 82]
        case .q3_K: return [108]
        case .q6_K: return [208]
        case .tq1_0: return [52]
        case .tq2_0: return [64]
        case .iq1_m, .mxfp4: return []  // see setScales
        default: return [0]
        }
    }

    /// Sets block `b`'s scales to small positive values: f16 fields, IQ1_M's d spread over the
    /// top nibbles of its four scale words, MXFP4's E8M0 exponent (2^−8 … 2^−1).
    static func setScales(_ type: GGMLType, _ w: inout [UInt8], block b: Int, rng: inout SplitMix) {
        let base = b * type.typeSize
        func smallScale() -> UInt16 { Float16(Float(rng.next() % 1000 + 1) / 40000).bitPattern }
        switch type {
        case .mxfp4:
            w[base] = UInt8(120 + rng.next() % 8)
        case .iq1_m:
            let bits = smallScale()
            for k in 0..<4 { w[base + 49 + 2 * k] = (w[base + 49 + 2 * k] & 0x0F) | UInt8((bits >> UInt16(4 * k)) & 0xF) << 4 }
        default:
            for o in scaleOffsets(type) {
                let bits = smallScale()
                w[base + o] = UInt8(bits & 0xFF)
                w[base + o + 1] = UInt8(bits >> 8)
            }
        }
    }

    struct Case {
        let type: GGMLType, rows: Int, k: Int, tokens: Int
        var weights: [UInt8]
        var x: [Float]
    }

    static func makeCase(_ type: GGMLType, rows: Int = 3, tokens: Int = 6, seed: UInt64) -> Case {
        var rng = SplitMix(seed: seed)
        let k = 512
        let rowBytes = k / type.blockSize * type.typeSize
        var w = (0..<rows * rowBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for b in 0..<(rows * k / type.blockSize) { setScales(type, &w, block: b, rng: &rng) }
        let x = (0..<tokens * k).map { i -> Float in
            let u = Float(rng.next() % 20001) / 10000 - 1
            return i % 97 == 0 ? u * 8 : u  // a few outliers, as real activations have
        }
        return Case(type: type, rows: rows, k: k, tokens: tokens, weights: w, x: x)
    }

    /// Quantized activation row `t` of the case, dequantized to f32.
    static func dequantizedActivation(_ a: UnsafeRawPointer, format: GGMLType, k: Int) -> [Float] {
        var out = [Float](repeating: 0, count: k)
        if format == .q8_1 {  // Q8_1 = Q8_0 plus a sum; dequantize by hand: d·q
            for b in 0..<k / 32 {
                let d = Float(Float16(bitPattern: a.loadUnaligned(fromByteOffset: b * 36, as: UInt16.self)))
                for j in 0..<32 { out[b * 32 + j] = d * Float(a.load(fromByteOffset: b * 36 + 4 + j, as: Int8.self)) }
            }
        } else {
            out.withUnsafeMutableBufferPointer { Dequantize.rowUnchecked(format, a, count: k, into: $0.baseAddress!) }
        }
        return out
    }

    @Test(arguments: formats, KernelDispatch.available)
    func matmulMatchesReferences(_ type: GGMLType, _ path: KernelPath) throws {
        // 3 tokens: the row kernels of decode (one tile); 10: tiles of 4 plus a remainder, and the
        // many-token (blocked) kernels where a path has them
        for tokens in [3, 10] { try matmulMatchesReferences(type, path, tokens: tokens) }
    }

    func matmulMatchesReferences(_ type: GGMLType, _ path: KernelPath, tokens: Int) throws {
        let c = Self.makeCase(type, tokens: tokens, seed: UInt64(type.rawValue) * 7 + UInt64(tokens))
        // tokens mix llama.cpp's orders: none, tiled, gemm, both, and Q5_0's eight lanes on every
        // third token (so runs of either Q5_0 order, and single tokens, meet in one call)
        let modes: [RowOrder] = (0..<c.tokens).map { RowOrder(rawValue: UInt8($0 % 4)).union($0 % 3 == 0 ? .q0Lanes : []) }
        let format = try #require(ActivationQuantization.format(for: type))
        let aBytes = ActivationQuantization.rowBytes(format, count: c.k)
        let pool = ComputePool(threads: 2)
        var y = [Float](repeating: .nan, count: c.tokens * c.rows)
        var quantized = [UInt8](repeating: 0, count: c.tokens * aBytes)
        c.weights.withUnsafeBytes { wb in
            let w = WeightMatrix(type: type, rows: c.rows, columns: c.k, data: wb.baseAddress!)
            c.x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    modes.withUnsafeBufferPointer { mb in
                        Matmul.multiply(w, xb.baseAddress!, batch: c.tokens, into: yb.baseAddress!, pool: pool, path: path,
                                        orders: mb.baseAddress!)
                    }
                }
                quantized.withUnsafeMutableBytes { qb in
                    for t in 0..<c.tokens {
                        ActivationQuantization.quantize(xb.baseAddress! + t * c.k, count: c.k, format: format,
                                                        into: qb.baseAddress! + t * aBytes)
                    }
                }
            }
        }
        var row = [Float](repeating: 0, count: c.k)
        for r in 0..<c.rows {
            c.weights.withUnsafeBytes { wb in
                row.withUnsafeMutableBufferPointer {
                    Dequantize.rowUnchecked(type, wb.baseAddress! + r * (c.weights.count / c.rows), count: c.k, into: $0.baseAddress!)
                }
            }
            for t in 0..<c.tokens {
                quantized.withUnsafeBytes { qb in
                    let a = qb.baseAddress! + t * aBytes
                    let deqA = Self.dequantizedActivation(a, format: format, k: c.k)
                    var exact = 0.0, magnitude = 0.0
                    for i in 0..<c.k {
                        exact += Double(row[i]) * Double(deqA[i])
                        magnitude += abs(Double(row[i]) * Double(deqA[i]))
                    }
                    let got = Double(y[t * c.rows + r])
                    let portable = c.weights.withUnsafeBytes { wb in
                        Double(QuantizedDot.dot(type, wb.baseAddress! + r * (c.weights.count / c.rows), a, count: c.k,
                                                order: modes[t]))
                    }
                    #expect(magnitude > 0)
                    #expect(abs(got - exact) <= 1e-3 * magnitude, "\(type.name) \(path) r\(r) t\(t): \(got) vs exact \(exact)")
                    if type == .q5_0 && !modes[t].contains(.q0Lanes) {
                        // invariant numerics' Q5_0 order adds exact products in f64 and rounds once:
                        // within an ulp of the float64 reference (in practice the nearest Float to
                        // it), give or take the reference's own rounding (k additions in f64)
                        let slack = Double(c.k) * 0x1p-52 * magnitude
                        #expect(abs(got - exact) <= Double(Float(exact).ulp) + slack, "\(type.name) \(path) r\(r) t\(t): \(got) vs exact \(exact)")
                    }
                    #expect(Float(got).bitPattern == Float(portable).bitPattern,
                            "\(type.name) \(path) r\(r) t\(t): \(got) vs portable \(portable)")
                }
            }
        }
    }

    /// A token's outputs are bit-identical whether it is multiplied alone or inside a batch,
    /// at any position of a tile.
    @Test(arguments: formats, KernelDispatch.available)
    func matmulIsBatchInvariant(_ type: GGMLType, _ path: KernelPath) {
        let c = Self.makeCase(type, rows: 37, tokens: 21, seed: UInt64(type.rawValue) * 13 + 5)
        let modes: [RowOrder] = (0..<c.tokens).map { RowOrder(rawValue: UInt8(($0 * 7) % 4)).union($0 % 3 == 1 ? .q0Lanes : []) }
        let pool = ComputePool(threads: 2)
        var batched = [Float](repeating: .nan, count: c.tokens * c.rows)
        var single = [Float](repeating: .nan, count: c.rows)
        c.weights.withUnsafeBytes { wb in
            let w = WeightMatrix(type: type, rows: c.rows, columns: c.k, data: wb.baseAddress!)
            c.x.withUnsafeBufferPointer { xb in
                batched.withUnsafeMutableBufferPointer { yb in
                    modes.withUnsafeBufferPointer {
                        Matmul.multiply(w, xb.baseAddress!, batch: c.tokens, into: yb.baseAddress!, pool: pool, path: path,
                                        orders: $0.baseAddress!)
                    }
                }
                for t in 0..<c.tokens {
                    single.withUnsafeMutableBufferPointer { yb in
                        modes.withUnsafeBufferPointer {
                            Matmul.multiply(w, xb.baseAddress! + t * c.k, batch: 1, into: yb.baseAddress!, pool: pool, path: path,
                                            orders: $0.baseAddress! + t)
                        }
                    }
                    let same = (0..<c.rows).allSatisfy { single[$0].bitPattern == batched[t * c.rows + $0].bitPattern }
                    #expect(same, "\(type.name) \(path): token \(t) differs alone vs in a batch of \(c.tokens)")
                }
            }
        }
    }

    /// The portable dots of the lattice, ternary and FP4 formats, tighter than the shared 1e-3: their
    /// per-block integer sums are exact and only the f32 scale products and the sum over blocks
    /// round (a few units of 2^−24 each), so |dot − Σ deq(w)·deq(a)| ≤ 1e-6·Σ|deq(w)·deq(a)|,
    /// with the float64 reference over the same dequantized operands. Prints the largest
    /// measured error per format.
    @Test(arguments: latticeTernaryFP4)
    func portableDotIsAccurate(_ type: GGMLType) throws {
        let c = Self.makeCase(type, rows: 48, tokens: 4, seed: UInt64(type.rawValue) * 31 + 3)
        let format = try #require(ActivationQuantization.format(for: type))
        let aBytes = ActivationQuantization.rowBytes(format, count: c.k)
        let rowBytes = c.weights.count / c.rows
        var quantized = [UInt8](repeating: 0, count: aBytes)
        var row = [Float](repeating: 0, count: c.k)
        var worst = 0.0
        for t in 0..<c.tokens {
            c.x.withUnsafeBufferPointer { xb in
                quantized.withUnsafeMutableBytes {
                    ActivationQuantization.quantize(xb.baseAddress! + t * c.k, count: c.k, format: format, into: $0.baseAddress!)
                }
            }
            let deqA = quantized.withUnsafeBytes { Self.dequantizedActivation($0.baseAddress!, format: format, k: c.k) }
            for r in 0..<c.rows {
                let got = c.weights.withUnsafeBytes { wb in
                    row.withUnsafeMutableBufferPointer {
                        Dequantize.rowUnchecked(type, wb.baseAddress! + r * rowBytes, count: c.k, into: $0.baseAddress!)
                    }
                    return quantized.withUnsafeBytes { QuantizedDot.dot(type, wb.baseAddress! + r * rowBytes, $0.baseAddress!, count: c.k) }
                }
                var exact = 0.0, magnitude = 0.0
                for i in 0..<c.k {
                    exact += Double(row[i]) * Double(deqA[i])
                    magnitude += abs(Double(row[i]) * Double(deqA[i]))
                }
                #expect(magnitude > 0 && got.isFinite)
                worst = max(worst, abs(Double(got) - exact) / magnitude)
            }
        }
        print("\(type.name) dot vs float64: max error \(worst) of Σ|w·a|")
        #expect(worst <= 1e-6, "\(type.name): error \(worst) of Σ|w·a|")
    }

    /// TQ2_0 and MXFP4 have C kernels on every C path, so matmulMatchesReferences compares them
    /// with the portable dot; the other lattice formats fall back to it (no kernel claimed).
    @Test(arguments: KernelDispatch.available.filter { $0 != .portable })
    func cKernelsCoverTheirFormats(_ path: KernelPath) {
        for type in Self.latticeTernaryFP4 {
            let expected = type == .tq2_0 || type == .mxfp4
            #expect(KernelDispatch.hasMatmul(path, Int32(type.rawValue)) == expected, "\(type.name) \(path)")
        }
    }

    /// The C activation quantizers write exactly the bytes of the Swift reference.
    @Test(arguments: [GGMLType.q8_0, .q8_1, .q8_K], KernelDispatch.available)
    func activationQuantizersAgree(_ format: GGMLType, _ path: KernelPath) {
        let c = Self.makeCase(.q4_K, tokens: 4, seed: 99)
        let bytes = ActivationQuantization.rowBytes(format, count: c.k)
        var reference = [UInt8](repeating: 0, count: bytes), got = [UInt8](repeating: 1, count: bytes)
        for t in 0..<c.tokens {
            c.x.withUnsafeBufferPointer { xb in
                reference.withUnsafeMutableBytes {
                    ActivationQuantization.quantize(xb.baseAddress! + t * c.k, count: c.k, format: format, into: $0.baseAddress!)
                }
                got.withUnsafeMutableBytes {
                    ActivationQuantization.quantize(xb.baseAddress! + t * c.k, count: c.k, format: format, into: $0.baseAddress!, path: path)
                }
            }
            #expect(got == reference, "\(format.name) \(path) row \(t)")
        }
    }

    /// Streaming f16 attention: each path gives the portable recurrence's bits (same f16
    /// rounding of q and the accumulator, same q·k lane order and FMAs), for head dimensions with
    /// and without a 64-element remainder (16: remainder only), any number of heads per call, and
    /// with Gemma 2's score soft-cap.
    @Test(arguments: KernelDispatch.available)
    func attentionMatchesPortable(_ path: KernelPath) {
        var rng = SplitMix(seed: 3)
        func r() -> Float { Float(rng.next() % 20001) / 10000 - 1 }
        // 80 cells (61 visible: more than one block of 32); 300 (281 visible: the AVX-512 path's
        // chunks of 128 cells, a partial last one)
        for (hd, heads, cells) in [(128, 1, 80), (256, 4, 80), (72, 5, 80), (16, 2, 80), (64, 3, 300), (256, 4, 300), (128, 6, 90)] {
            let stride = 2 * hd, queryPosition = Int32(2 * cells - 39)
            let q = (0..<heads * hd).map { _ in r() * 2 }
            let keys = (0..<cells * stride).map { _ in Float16(r()) }
            let values = (0..<cells * stride).map { _ in Float16(r()) }
            let positions = (0..<Int32(cells)).map { $0 * 2 }
            for (window, softcap) in [(nil, 0), (9, 0), (nil, 0.5)] as [(Int?, Float)] {
                var expected = [Float](repeating: 0, count: heads * hd), got = expected
                var scratch = [UInt8](repeating: 0, count: Attention.scratchBytes(heads: heads, headDimension: hd))
                for (p, out) in [(KernelPath.portable, 0), (path, 1)] {
                    var result = [Float](repeating: .nan, count: heads * hd)
                    scratch.withUnsafeMutableBytes { s in
                        result.withUnsafeMutableBufferPointer { o in
                            Attention.attendHeads(queries: q, queryStride: hd, heads: heads, keys: keys, values: values,
                                                  stride: stride, positions: positions, cellCount: cells, queryPosition: queryPosition,
                                                  window: window, scale: 0.125, softcap: softcap, headDimension: hd,
                                                  scratch: s.baseAddress!, into: o.baseAddress!, outputStride: hd, path: p)
                        }
                    }
                    if out == 0 { expected = result } else { got = result }
                }
                let differing = zip(expected, got).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(path) hd \(hd) heads \(heads) window \(String(describing: window)) softcap \(softcap): \(differing) of \(heads * hd) outputs differ")
                #expect(expected.contains { $0 != 0 })
                // Heads are independent: head 1 alone gives the bits it gets among others.
                if heads > 1 {
                    var alone = [Float](repeating: .nan, count: hd)
                    scratch.withUnsafeMutableBytes { s in
                        alone.withUnsafeMutableBufferPointer { o in
                            q.withUnsafeBufferPointer { qb in
                                Attention.attendHeads(queries: qb.baseAddress! + hd, queryStride: hd, heads: 1, keys: keys,
                                                      values: values, stride: stride, positions: positions, cellCount: cells,
                                                      queryPosition: queryPosition, window: window, scale: 0.125, softcap: softcap, headDimension: hd,
                                                      scratch: s.baseAddress!, into: o.baseAddress!, outputStride: hd, path: path)
                            }
                        }
                    }
                    #expect(alone.map(\.bitPattern) == Array(got[hd..<2 * hd]).map(\.bitPattern))
                }
            }
        }
    }

    /// Several query rows of one sequence at once (`attendRows`: on AVX-512 an f16 cache's value
    /// rows are converted once per chunk for all of them): every row gets the bits `attendHeads`
    /// gives it alone on the portable path — for rows whose visible cells differ (causal, sliding
    /// window), cells unsorted by position and spanning several chunks, rows in any batch order,
    /// head counts and sizes the AVX-512 kernel takes and ones it leaves to the row loop (72, 20
    /// heads), a soft-cap, sinks, and a Q8_0 cache.
    @Test(arguments: KernelDispatch.available)
    func rowsOfOneSequenceMatchEachRowAlone(_ path: KernelPath) {
        var rng = SplitMix(seed: 11)
        func r() -> Float { Float(rng.next() % 20001) / 10000 - 1 }
        let cases: [(hd: Int, heads: Int, cells: Int, window: Int?, softcap: Float, sinks: Bool, q8: Bool)] = [
            (256, 4, 300, nil, 0, false, false), (128, 2, 140, 37, 0, false, false), (64, 16, 90, nil, 0.5, false, false),
            (128, 3, 260, nil, 0, true, false), (72, 2, 50, nil, 0, false, false), (64, 20, 40, nil, 0, false, false),
            (64, 2, 70, 20, 0, false, true),
        ]
        for c in cases {
            let rowCount = 7, batchRows = 9, hd = c.hd, heads = c.heads
            let rowStride = heads * hd + 5  // rows of the batch, heads hd apart within a row
            let q = (0..<batchRows * rowStride).map { _ in r() * 2 }
            let kvStride = hd + 3  // elements between cached rows
            let keys = (0..<c.cells * kvStride).map { _ in Float16(r()) }
            let values = (0..<c.cells * kvStride).map { _ in Float16(r()) }
            // positions 0..<cells with the last ten cells moved to the front
            let positions = (0..<Int32(c.cells)).map { ($0 + 10) % Int32(c.cells) }
            let rows: [Int32] = [8, 1, 3, 0, 6, 2, 5]  // batch rows, not in order
            let queryPositions = [c.cells - 1, 0, 11, c.cells / 2, c.cells + 5, c.cells * 3 / 4, 64 % c.cells].map(Int32.init)
            let sinks = (0..<heads).map { _ in r() * 3 }
            let q8Row = hd / 32 * GGMLType.q8_0.typeSize
            var quantizedKeys = [UInt8](repeating: 0, count: c.cells * q8Row), quantizedValues = quantizedKeys
            if c.q8 {
                for i in 0..<c.cells {
                    let k = (0..<hd).map { Float(keys[i * kvStride + $0]) }, v = (0..<hd).map { Float(values[i * kvStride + $0]) }
                    quantizedKeys.withUnsafeMutableBytes { ActivationQuantization.quantize(k, count: hd, format: .q8_0, into: $0.baseAddress! + i * q8Row) }
                    quantizedValues.withUnsafeMutableBytes { ActivationQuantization.quantize(v, count: hd, format: .q8_0, into: $0.baseAddress! + i * q8Row) }
                }
            }
            let perRow = Attention.scratchBytes(heads: heads, headDimension: hd)
            var scratch = [UInt8](repeating: 0, count: rowCount * perRow)
            var expected = [Float](repeating: .nan, count: batchRows * rowStride), got = expected
            keys.withUnsafeBytes { kb in
                values.withUnsafeBytes { vb in
                    quantizedKeys.withUnsafeBytes { qkb in
                        quantizedValues.withUnsafeBytes { qvb in
                            let cache = c.q8
                                ? Attention.CachedRows(keys: qkb.baseAddress!, keyType: .q8_0, keyStride: q8Row,
                                                       values: qvb.baseAddress!, valueType: .q8_0, valueStride: q8Row)
                                : Attention.CachedRows(keys: kb.baseAddress!, keyType: .f16, keyStride: 2 * kvStride,
                                                       values: vb.baseAddress!, valueType: .f16, valueStride: 2 * kvStride)
                            sinks.withUnsafeBufferPointer { sinkValues in
                                let sinkPointer = c.sinks ? sinkValues.baseAddress : nil
                                scratch.withUnsafeMutableBytes { s in
                                    q.withUnsafeBufferPointer { qb in
                                        expected.withUnsafeMutableBufferPointer { o in
                                            for (i, row) in rows.enumerated() {
                                                Attention.attendHeads(
                                                    queries: qb.baseAddress! + Int(row) * rowStride, queryStride: hd, heads: heads,
                                                    rows: cache, positions: positions, cellCount: c.cells,
                                                    queryPosition: queryPositions[i], window: c.window, scale: 0.125,
                                                    softcap: c.softcap, sinks: sinkPointer, headDimension: hd, scratch: s.baseAddress!,
                                                    into: o.baseAddress! + Int(row) * rowStride, outputStride: hd, path: .portable)
                                            }
                                        }
                                        got.withUnsafeMutableBufferPointer { o in
                                            Attention.attendRows(
                                                queries: qb.baseAddress!, queryRowStride: rowStride, rows: rows,
                                                queryPositions: queryPositions, count: rowCount, queryStride: hd, heads: heads,
                                                cache: cache, positions: positions, cellCount: c.cells, window: c.window,
                                                scale: 0.125, softcap: c.softcap, sinks: sinkPointer, headDimension: hd,
                                                scratch: s.baseAddress!, into: o.baseAddress!, outputRowStride: rowStride,
                                                outputStride: hd, path: path)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let label = "\(path) hd \(hd) heads \(heads) cells \(c.cells) window \(String(describing: c.window)) softcap \(c.softcap) sinks \(c.sinks) q8 \(c.q8)"
            for row in rows.map(Int.init) {
                let range = row * rowStride..<row * rowStride + heads * hd
                let differing = zip(expected[range], got[range]).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(label) row \(row): \(differing) of \(heads * hd) outputs differ")
                #expect(expected[range].contains { $0 != 0 }, "\(label) row \(row) sees cells")
            }
            // rows the call was not given are left alone
            for row in 0..<batchRows where !rows.contains(Int32(row)) {
                let untouched = got[row * rowStride..<(row + 1) * rowStride].allSatisfy { $0.isNaN }
                #expect(untouched, "\(label): row \(row) untouched")
            }
        }
    }

    /// Tiled attention (many rows of one sequence): each path gives the portable loop's bits,
    /// for full and partial query tiles and cell tiles, scattered rows, gaps in positions, with and
    /// without a window, with and without a score soft-cap; and the result is close to a float64
    /// softmax of the same inputs.
    @Test(arguments: KernelDispatch.available)
    func tiledAttentionMatchesPortable(_ path: KernelPath) {
        var rng = SplitMix(seed: 11)
        func r() -> Float { Float(rng.next() % 20001) / 10000 - 1 }
        for (hd, count, cells) in [(256, 64, 150), (72, 37, 64), (64, 5, 200)] {
            let stride = hd + 8, rowStride = hd + 3, totalRows = 2 * count + 2
            let q = (0..<totalRows * rowStride).map { _ in r() * 3 }
            let keys = (0..<cells * stride).map { _ in Float16(r()) }
            let values = (0..<cells * stride).map { _ in Float16(r()) }
            let positions = (0..<Int32(cells)).map { $0 + ($0 > 40 ? 3 : 0) }  // a gap after cell 40
            let rows = (0..<Int32(count)).map { 2 * $0 + ($0 % 3 == 0 ? 1 : 0) }  // scattered, increasing
            let queryPositions = (0..<Int32(count)).map { positions[min(cells - 1, Int($0) * cells / count + 1)] }
            for (window, softcap) in [(nil, 0), (20, 0), (20, 0.5)] as [(Int?, Float)] {
                var results: [[Float]] = []
                for p in [KernelPath.portable, path] {
                    var out = [Float](repeating: .nan, count: totalRows * rowStride)
                    out.withUnsafeMutableBufferPointer { o in
                        Attention.attendTiled(queries: q, queryStride: rowStride, rows: rows, queryPositions: queryPositions,
                                              count: count, keys: keys, values: values, stride: stride, positions: positions,
                                              cellCount: cells, window: window, scale: 0.0625, softcap: softcap, headDimension: hd,
                                              into: o.baseAddress!, outputStride: rowStride, path: p)
                    }
                    results.append(rows.flatMap { i in out[Int(i) * rowStride..<Int(i) * rowStride + hd] })
                }
                let differing = zip(results[0], results[1]).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(path) hd \(hd) rows \(count) cells \(cells) window \(String(describing: window)): \(differing) differ")
                // float64 reference for a few rows
                for i in [0, count / 2, count - 1] {
                    let p = queryPositions[i]
                    var scores: [(Int, Double)] = []
                    for c in 0..<cells where Attention.isVisible(cellPosition: positions[c], queryPosition: p, window: window) {
                        var dot = 0.0
                        for e in 0..<hd { dot += Double(keys[c * stride + e]) * Double(q[Int(rows[i]) * rowStride + e]) }
                        scores.append((c, softcap == 0 ? dot * 0.0625 : Double(softcap) * tanh(dot * 0.0625 / Double(softcap))))
                    }
                    let m = scores.map(\.1).max()!
                    let z = scores.reduce(0.0) { $0 + Foundation.exp($1.1 - m) }
                    for e in [0, hd / 2, hd - 1] {
                        let expected = scores.reduce(0.0) { $0 + Foundation.exp($1.1 - m) / z * Double(values[$1.0 * stride + e]) }
                        #expect(abs(Double(results[1][i * hd + e]) - expected) <= 1e-4, "row \(i) e \(e)")
                    }
                }
            }
        }
    }

    /// ggml's exp polynomial: within 2 ulp-ish (relative 3e-7) of expf over the softmax range,
    /// 0 far below it.
    @Test func expPolynomialIsAccurate() {
        var x: Float = -100
        while x <= 0 {
            let e = Attention.exp(x), ref = Foundation.expf(x)
            if ref > 1e-37 { #expect(abs(e - ref) <= 3e-7 * ref, "x \(x): \(e) vs \(ref)") }
            x += 0.0137
        }
        #expect(Attention.exp(-.infinity) == 0)
        #expect(Attention.exp(-200) == 0)
        #expect(Attention.exp(0) == 1)
    }

    /// `dotF16` against a float64 dot of the same operands (its order only moves rounding).
    @Test func dotF16IsAccurate() {
        var rng = SplitMix(seed: 9)
        for n in [64, 256, 100] {
            let k = (0..<n).map { _ in Float16(Float(rng.next() % 2001) / 1000 - 1) }
            let q = (0..<n).map { _ in Float(rng.next() % 2001) / 1000 - 1 }
            let exact = zip(k, q).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let got = k.withUnsafeBufferPointer { kb in q.withUnsafeBufferPointer { Attention.dotF16(kb.baseAddress!, $0.baseAddress!, count: n) } }
            #expect(abs(Double(got) - exact) <= 1e-5 * Double(n))
        }
    }

    /// The table-driven GEGLU gives the bits of `VectorMath.gegluF16` for every path.
    @Test(arguments: KernelDispatch.available)
    func geluTableMatchesGeluF16(_ path: KernelPath) {
        // −13.3 … 13.3 across both cut-offs, then the cut-offs themselves, signed zeros, infinities,
        // NaN, the f16 bit pattern 0xFFFF (the table's last entry) and a tail after the last 8
        var gate = (0..<4000).map { Float($0 - 2000) / 150 }
        gate += [10, -10, 0, -0.0, .infinity, -.infinity, .nan, Float(bitPattern: 0xFFFF_FFFF), 65504, -65504, 9.999, -9.999, 1e-8]
        let up = gate.indices.map { Float($0 % 7) - 3.5 }
        var out = [Float](repeating: .nan, count: gate.count)
        VectorMath.gatedActivation(gate: gate, up: up, count: gate.count, activation: .gelu, into: &out, path: path)
        let mismatches = gate.indices.filter {
            let want = VectorMath.gegluF16(gate[$0], up[$0])
            return out[$0].bitPattern != want.bitPattern && !(out[$0].isNaN && want.isNaN)
        }
        #expect(mismatches.isEmpty, "\(path): \(mismatches.count) differ, first at \(mismatches.first ?? -1)")
    }

    /// SwiGLU (silu(gate)·up) gives the portable path's bits on every path: across the vector
    /// e^x's far-range cases (|n| > 126 scaled by ldexpf, |n| > 192 → 0 or ∞), signed zeros,
    /// subnormals, infinities and NaN, and in the libm tail after the last whole block of 16.
    @Test(arguments: KernelDispatch.available)
    func swigluMatchesPortable(_ path: KernelPath) {
        var rng = SplitMix(seed: 21)
        var gate = (0..<4000).map { Float($0 - 2000) / 16 }  // −125 … 125 in steps of 1/16
        gate += [0, -0.0, 0x1p-133, -0x1p-133, 87.3, -87.3, 88.72, -88.72, 89.5, -89.5, 103.9, -103.9, 104.5, -104.5,
                 133.2, -133.2, 140, -140, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        gate += (0..<1000).map { _ in Float(rng.unit() * 40 - 20) }
        gate += [3.25, -7.5, 0.125]  // 5026 elements: a tail of 2 after the last block of 16
        let up = gate.indices.map { Float($0 % 9) - 4.25 }
        var got = [Float](repeating: .nan, count: gate.count), want = got
        VectorMath.gatedActivation(gate: gate, up: up, count: gate.count, activation: .silu, into: &got, path: path)
        VectorMath.gatedActivation(gate: gate, up: up, count: gate.count, activation: .silu, into: &want, path: .portable)
        let mismatches = gate.indices.filter { got[$0].bitPattern != want[$0].bitPattern && !(got[$0].isNaN && want[$0].isNaN) }
        #expect(mismatches.isEmpty, "\(path): \(mismatches.count) differ, first at \(mismatches.first.map { "gate \(gate[$0])" } ?? "-")")
    }

    /// ggml's exp polynomial over the SiLU's range too (its stated bound is 1.45 ulp plus the final
    /// rounding): within 2 ulp (relative 2.5e-7) of the float64 e^x where the result is normal,
    /// 1 at 0, 0 / ∞ where ggml's is, NaN for NaN.
    @Test func expPolynomialCoversTheSiLURange() {
        var x: Float = -87
        while x <= 88.5 {
            let e = Double(Attention.exp(x)), ref = Foundation.exp(Double(x))
            #expect(abs(e - ref) <= 2.5e-7 * ref, "x \(x): \(e) vs \(ref)")
            x += 0.0173
        }
        #expect(Attention.exp(0) == 1)
        #expect(Attention.exp(-200) == 0 && Attention.exp(-.infinity) == 0)
        #expect(Attention.exp(200) == .infinity && Attention.exp(.infinity) == .infinity)
        #expect(Attention.exp(.nan).isNaN)
        // deep in the subnormals: one rounding of j·2ⁿ, as scalef does
        let tiny = Double(Attention.exp(-100)), ref = Foundation.exp(-100.0)
        #expect(abs(tiny - ref) <= 0x1p-149, "\(tiny) vs \(ref)")
    }

    /// Multi-head RoPE in C gives `RoPE.apply`'s bits (both layouts, rotating all or part of a
    /// head, head sizes with a scalar tail, heads further apart than their size).
    @Test(arguments: KernelDispatch.available)
    func ropeMatchesPortable(_ path: KernelPath) {
        var rng = SplitMix(seed: 5)
        for (dims, headSize, heads) in [(128, 128, 8), (64, 64, 3), (48, 72, 4), (10, 16, 2), (6, 6, 5)] {
            for layout in [RoPE.Layout.normal, .neox] {
                var cs = [Float](repeating: 0, count: dims)
                RoPE.angles(position: 1234, dims: dims, base: 10000, into: &cs)
                let x = (0..<heads * headSize).map { _ in Float(rng.unit() * 8 - 4) }
                var got = x, want = x
                cs.withUnsafeBufferPointer { c in
                    RoPE.apply(&got, heads: heads, stride: headSize, dims: dims, layout: layout, angles: c.baseAddress!, path: path)
                    want.withUnsafeMutableBufferPointer { w in
                        for h in 0..<heads { RoPE.apply(w.baseAddress! + h * headSize, dims: dims, layout: layout, angles: c.baseAddress!) }
                    }
                }
                let mismatches = x.indices.filter { got[$0].bitPattern != want[$0].bitPattern }
                #expect(mismatches.isEmpty, "\(path) \(layout) dims \(dims): \(mismatches.count) differ")
            }
        }
    }
}


/// Float weight matrices (F32, F16, BF16): each row dequantized once and dotted in f32, checked
/// against a float64 product of the same stored values (tolerance 1e-5 of Σ|w·x|), and a token's
/// outputs are the same alone and in a batch.
@Suite struct FloatMatmulTests {
    static func stored(_ type: GGMLType, _ values: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        for v in values {
            switch type {
            case .f32: withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
            case .f16: withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { bytes += $0 }
            default: withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { bytes += $0 }  // bf16 (truncated)
            }
        }
        return bytes
    }

    @Test(arguments: [GGMLType.f32, .f16, .bf16])
    func floatMatmulMatchesFloat64(_ type: GGMLType) {
        var rng = SplitMix(seed: UInt64(type.rawValue) + 77)
        let rows = 19, k = 96, tokens = 5
        let values = (0..<rows * k).map { _ in Float(rng.next() % 20001) / 10000 - 1 }
        let x = (0..<tokens * k).map { _ in Float(rng.next() % 20001) / 10000 - 1 }
        let bytes = Self.stored(type, values)
        let pool = ComputePool(threads: 2)
        var y = [Float](repeating: .nan, count: tokens * rows), single = [Float](repeating: .nan, count: rows)
        bytes.withUnsafeBytes { wb in
            let w = WeightMatrix(type: type, rows: rows, columns: k, data: wb.baseAddress!)
            var row = [Float](repeating: 0, count: k)
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { Matmul.multiply(w, xb.baseAddress!, batch: tokens, into: $0.baseAddress!, pool: pool) }
                for r in 0..<rows {
                    row.withUnsafeMutableBufferPointer { w.dequantizeRow(r, into: $0.baseAddress!) }
                    for t in 0..<tokens {
                        var exact = 0.0, magnitude = 0.0
                        for i in 0..<k {
                            exact += Double(row[i]) * Double(x[t * k + i])
                            magnitude += abs(Double(row[i]) * Double(x[t * k + i]))
                        }
                        #expect(abs(Double(y[t * rows + r]) - exact) <= 1e-5 * magnitude, "\(type.name) r\(r) t\(t)")
                    }
                }
                single.withUnsafeMutableBufferPointer {
                    Matmul.multiply(w, xb.baseAddress! + 3 * k, batch: 1, into: $0.baseAddress!, pool: pool)
                }
            }
        }
        #expect((0..<rows).allSatisfy { single[$0].bitPattern == y[3 * rows + $0].bitPattern })
    }

    /// Every path gives the portable path's bits for float weights (the C dot of an F32 row where
    /// it lies, of an F16/BF16 row after widening it), at lengths around the 16- and 32-element steps.
    @Test(arguments: [GGMLType.f32, .f16, .bf16])
    func floatMatmulMatchesPortable(_ type: GGMLType) {
        var rng = SplitMix(seed: UInt64(type.rawValue) + 5)
        let pool = ComputePool(threads: 2)
        for k in [1, 15, 16, 17, 31, 32, 33, 48, 100, 2048, 2050] {
            let rows = 21, tokens = 3
            let values = (0..<rows * k).map { _ in Float(rng.unit() * 2 - 1) * 1e3 }
            let x = (0..<tokens * k).map { _ in Float(rng.unit() * 2 - 1) * 1e-3 }
            let bytes = Self.stored(type, values)
            bytes.withUnsafeBytes { wb in
                let w = WeightMatrix(type: type, rows: rows, columns: k, data: wb.baseAddress!)
                let results = KernelDispatch.available.map { path in
                    var y = [Float](repeating: .nan, count: tokens * rows)
                    y.withUnsafeMutableBufferPointer {
                        Matmul.multiply(w, x, batch: tokens, into: $0.baseAddress!, pool: pool, path: path)
                    }
                    return y
                }
                for (path, y) in zip(KernelDispatch.available, results) {
                    #expect(y.map(\.bitPattern) == results[0].map(\.bitPattern), "\(type.name) k \(k): \(path) differs from portable")
                }
            }
        }
    }
}
