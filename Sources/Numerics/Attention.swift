import CNumerics
import Foundation
import GGUF

/// Scaled dot-product attention of query heads over cached keys and values (f16, or quantized
/// to Q8_0/Q4_0 with `-ctk`/`-ctv`).
public enum Attention {
    /// Which cached cells a query at `position` may see: causal, optionally within a window.
    @inline(__always)
    public static func isVisible(cellPosition: Int32, queryPosition p: Int32, window: Int?) -> Bool {
        if cellPosition > p { return false }
        if let window, Int(p - cellPosition) >= window { return false }
        return true
    }

    /// Bytes of scratch `attendHeads` needs: the queries (f16-rounded floats or Q8_0 blocks), the
    /// accumulators (f16 or f32), one dequantized value row, and each head's running max and sum.
    public static func scratchBytes(heads: Int, headDimension hd: Int) -> Int { (2 * heads * hd + hd + 2 * heads) * 4 }

    /// Where the cached rows of one KV head lie and how they are stored: cell c's key at
    /// `keys + c·keyStride` bytes in `keyType`, its value at `values + c·valueStride` in `valueType`
    /// (each f16, Q8_0 or Q4_0, see `KVCacheFormats`).
    public struct CachedRows {
        public var keys: UnsafeRawPointer, keyType: GGMLType, keyStride: Int
        public var values: UnsafeRawPointer, valueType: GGMLType, valueStride: Int

        public init(keys: UnsafeRawPointer, keyType: GGMLType, keyStride: Int,
                    values: UnsafeRawPointer, valueType: GGMLType, valueStride: Int) {
            self.keys = keys
            self.keyType = keyType
            self.keyStride = keyStride
            self.values = values
            self.valueType = valueType
            self.valueStride = valueStride
        }
    }

    /// `attendHeads` over an f16 cache whose rows are `stride` values apart.
    public static func attendHeads(queries q: UnsafePointer<Float>, queryStride: Int, heads: Int,
                                   keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>,
                                   stride: Int, positions: UnsafePointer<Int32>, cellCount: Int,
                                   queryPosition p: Int32, window: Int?, scale: Float, softcap: Float = 0,
                                   sinks: UnsafePointer<Float>? = nil, headDimension hd: Int,
                                   scratch: UnsafeMutableRawPointer, into out: UnsafeMutablePointer<Float>,
                                   outputStride: Int, path: KernelPath = .portable) {
        let rows = CachedRows(keys: UnsafeRawPointer(keys), keyType: .f16, keyStride: stride * 2,
                              values: UnsafeRawPointer(values), valueType: .f16, valueStride: stride * 2)
        attendHeads(queries: q, queryStride: queryStride, heads: heads, rows: rows, positions: positions,
                    cellCount: cellCount, queryPosition: p, window: window, scale: scale, softcap: softcap, sinks: sinks,
                    headDimension: hd, scratch: scratch, into: out, outputStride: outputStride, path: path)
    }

    // out_h = Σ_c softmax_c(scale·q_h·k_c)·v_c over visible cells c, in cell order, as one
    // streaming pass (online softmax: a running max M, sum S, and accumulator rescaled when M
    // grows), for `heads` query heads (q + h·queryStride) that share one KV head, so each cached
    // row is read once for all of them.
    //
    // Numerics are llama.cpp's CPU flash attention (one chunk), so that outputs agree with it.
    // f16 keys: q rounded to f16; q·k as ggml_vec_dot_f16 (four 16-lane FMA accumulators, see
    // `dotF16`). Quantized keys: q quantized to Q8_0 per head, q·k as the format's vec_dot
    // (`QuantizedDot`). f16 values: an f16 accumulator rescaled as f16(acc·ms) and updated as
    // f16(fma(v, vs, acc)). Quantized values: the row dequantized to f32, an f32 accumulator
    // rescaled as acc·ms and updated as fma(v, vs, acc). S = fma(S, ms, vs); out = acc·(1/S).
    // Soft-capped scores (softcap ≠ 0, Gemma 2): score = cap·tanhf(q·k·(scale/cap)), as ggml
    // divides the scale by the cap once and caps each product.
    // Attention sinks (gpt-oss; `sinks[h]` per query head, nil for none) join the softmax's
    // denominator after the cells, as ggml applies them: with the accumulator as f32, if sink > M
    // then ms = expf(M − sink) scales the accumulator, else vs = expf(sink − M); S = fma(S, ms, vs).
    // The C paths do exactly these operations, so every path gives the same bits.
    public static func attendHeads(queries q: UnsafePointer<Float>, queryStride: Int, heads: Int, rows: CachedRows,
                                   positions: UnsafePointer<Int32>, cellCount: Int,
                                   queryPosition p: Int32, window: Int?, scale: Float, softcap: Float = 0,
                                   sinks: UnsafePointer<Float>? = nil, headDimension hd: Int,
                                   scratch: UnsafeMutableRawPointer, into out: UnsafeMutablePointer<Float>,
                                   outputStride: Int, path: KernelPath = .portable) {
        let scale = softcap != 0 ? scale / softcap : scale
        if path != .portable {
            cn_attend_heads(path.rawValue, Int32(rows.keyType.rawValue), Int32(rows.valueType.rawValue), q, queryStride,
                            Int32(heads), rows.keys, rows.keyStride, rows.values, rows.valueStride, positions,
                            Int32(cellCount), p, Int32(window ?? 0), scale, softcap, sinks, Int32(hd), scratch, out, outputStride)
            return
        }
        let keyF16 = rows.keyType == .f16, valueF16 = rows.valueType == .f16
        let q8Head = hd / 32 * GGMLType.q8_0.typeSize
        let qf = scratch.bindMemory(to: Float.self, capacity: heads * hd)
        let accBytes = scratch + heads * hd * 4
        let acc16 = valueF16 ? accBytes.bindMemory(to: Float16.self, capacity: heads * hd) : nil
        let acc32 = valueF16 ? nil : accBytes.bindMemory(to: Float.self, capacity: heads * hd)
        let valueRow = (scratch + 2 * heads * hd * 4).bindMemory(to: Float.self, capacity: hd)
        let m = (scratch + (2 * heads * hd + hd) * 4).bindMemory(to: Float.self, capacity: 2 * heads), s = m + heads
        for h in 0..<heads {
            if keyF16 {
                for i in 0..<hd { qf[h * hd + i] = Float(Float16(q[h * queryStride + i])) }
            } else {
                ActivationQuantization.quantize(q + h * queryStride, count: hd, format: .q8_0,
                                                into: scratch + h * q8Head)
            }
        }
        acc16?.update(repeating: 0, count: heads * hd)
        acc32?.update(repeating: 0, count: heads * hd)
        m.initialize(repeating: -.infinity, count: heads)
        s.initialize(repeating: 0, count: heads)
        for c in 0..<cellCount where isVisible(cellPosition: positions[c], queryPosition: p, window: window) {
            let k = rows.keys + c * rows.keyStride, v = rows.values + c * rows.valueStride
            if !valueF16 { Dequantize.rowUnchecked(rows.valueType, v, count: hd, into: valueRow) }
            for h in 0..<heads {
                let dot = keyF16
                    ? dotF16(k.assumingMemoryBound(to: Float16.self), qf + h * hd, count: hd)
                    : QuantizedDot.dot(rows.keyType, k, UnsafeRawPointer(scratch + h * q8Head), count: hd)
                var score = dot * scale
                if softcap != 0 { score = softcap * tanhf(score) }
                var ms: Float = 1, vs: Float = 1
                let grows = score > m[h]
                if grows {
                    ms = expf(m[h] - score)
                    m[h] = score
                } else {
                    vs = expf(score - m[h])
                }
                if let acc16 {
                    let a = acc16 + h * hd, vh = v.assumingMemoryBound(to: Float16.self)
                    if grows { for i in 0..<hd { a[i] = Float16(Float(a[i]) * ms) } }
                    for i in 0..<hd { a[i] = Float16(Float(a[i]).addingProduct(Float(vh[i]), vs)) }
                } else if let acc32 {
                    let a = acc32 + h * hd
                    if grows { for i in 0..<hd { a[i] *= ms } }
                    for i in 0..<hd { a[i] = a[i].addingProduct(valueRow[i], vs) }
                }
                s[h] = vs.addingProduct(s[h], ms)
            }
        }
        for h in 0..<heads {
            var ms: Float = 1
            if let sinks { (ms, s[h]) = addSink(sinks[h], max: m[h], sum: s[h]) }
            let inv: Float = s[h] == 0 ? 0 : 1 / s[h]
            for i in 0..<hd {
                var a = acc16.map { Float($0[h * hd + i]) } ?? acc32![h * hd + i]
                if sinks != nil { a *= ms }
                out[h * outputStride + i] = a * inv
            }
        }
    }

    /// A sink logit joining a softmax whose running max is `m` and sum `s`: the factor for the
    /// accumulator (expf(m − sink) when the sink is the new max, else 1) and the new sum.
    @inline(__always)
    static func addSink(_ sink: Float, max m: Float, sum s: Float) -> (scale: Float, sum: Float) {
        var ms: Float = 1, vs: Float = 1
        if sink > m { ms = expf(m - sink) } else { vs = expf(sink - m) }
        return (ms, vs.addingProduct(s, ms))
    }

    /// k·q as ggml_vec_dot_f16 computes it with AVX-512: accumulators a_j (16 lanes, j < 4) take
    /// fma(k, q, a_j) over elements i + 16j + lane for i = 0, 64, …; then (a0 + a2) + (a1 + a3)
    /// lane-wise, lanes l + (l+8), then + (l+4), + (l+2), + (l+1); leftover elements (count not
    /// a multiple of 64) add their f32 products to that in f64, in order, rounded to f32 at the end
    /// (the products of f16 keys and f16-rounded queries are exact, so only the final sum rounds).
    public static func dotF16(_ k: UnsafePointer<Float16>, _ q: UnsafePointer<Float>, count n: Int) -> Float {
        let main = n / 64 * 64
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { lanesBuffer in
            let a = lanesBuffer.baseAddress!
            a.initialize(repeating: 0, count: 64)
            var i = 0
            while i < main {
                for e in 0..<64 { a[e] = a[e].addingProduct(Float(k[i + e]), q[i + e]) }
                i += 64
            }
            for l in 0..<16 { a[l] = (a[l] + a[32 + l]) + (a[16 + l] + a[48 + l]) }
            for l in 0..<8 { a[l] = a[l] + a[l + 8] }
            for l in 0..<4 { a[l] = a[l] + a[l + 4] }
            var r = Double((a[0] + a[2]) + (a[1] + a[3]))
            for e in main..<n { r += Double(Float(k[e]) * q[e]) }
            return Float(r)
        }
    }
    /// `attendHeads` for `count` query rows of one sequence at once: row r's heads at
    /// `q + rows[r]·queryRowStride` (`queryStride` apart), at position `queryPositions[r]`, its output
    /// at `out + rows[r]·outputRowStride` (`outputStride` apart). Each row gets exactly the bits
    /// `attendHeads` gives it alone; over an f16 cache the AVX-512 path converts each chunk of value
    /// rows to f32 once for all the rows instead of once per row. `scratch`: `count` ×
    /// `scratchBytes(heads:headDimension:)`.
    public static func attendRows(queries q: UnsafePointer<Float>, queryRowStride: Int, rows: UnsafePointer<Int32>,
                                  queryPositions: UnsafePointer<Int32>, count: Int, queryStride: Int, heads: Int,
                                  cache: CachedRows, positions: UnsafePointer<Int32>, cellCount: Int, window: Int?,
                                  scale: Float, softcap: Float = 0, sinks: UnsafePointer<Float>? = nil, headDimension hd: Int,
                                  scratch: UnsafeMutableRawPointer, into out: UnsafeMutablePointer<Float>,
                                  outputRowStride: Int, outputStride: Int, path: KernelPath = .portable) {
        if path != .portable {
            cn_attend_rows(path.rawValue, Int32(cache.keyType.rawValue), Int32(cache.valueType.rawValue), Int32(count), q,
                           queryRowStride, rows, queryPositions, queryStride, Int32(heads), cache.keys, cache.keyStride,
                           cache.values, cache.valueStride, positions, Int32(cellCount), Int32(window ?? 0),
                           softcap != 0 ? scale / softcap : scale, softcap, sinks, Int32(hd), scratch, out, outputRowStride,
                           outputStride)
            return
        }
        let per = scratchBytes(heads: heads, headDimension: hd)
        for r in 0..<count {
            attendHeads(queries: q + Int(rows[r]) * queryRowStride, queryStride: queryStride, heads: heads, rows: cache,
                        positions: positions, cellCount: cellCount, queryPosition: queryPositions[r], window: window,
                        scale: scale, softcap: softcap, sinks: sinks, headDimension: hd, scratch: scratch + r * per,
                        into: out + Int(rows[r]) * outputRowStride, outputStride: outputStride, path: path)
        }
    }

    /// Query rows per tile (and cells per KV tile) of `attendTiled`; llama.cpp uses the tiled
    /// path for a batch with at least this many query rows.
    public static let tileRows = 64

    // One query head for up to `tileRows` rows of one sequence (row rows[i] at q + rows[i]·queryStride,
    // at position queryPositions[i]; output at out + rows[i]·outputStride), in the numerics of
    // llama.cpp's tiled CPU flash attention, which it uses for batches of 64 or more rows:
    // per row, cells in tiles of 64 by cell index; score = (k·q as an in-order FMA chain, q in
    // f32)·scale + 0 (cap·tanhf(k·q·scale) + 0 with a softcap, scale divided by the cap); a tile the row cannot see is skipped; M' = max(M, tile max) and, if it grew,
    // acc and S are scaled by expf(M − M'); p = `exp` (ggml's AVX-512 polynomial) of score − M',
    // 0 for hidden cells; S = f32(f64(S) + Σ over 16-cell groups of f64(tree sum of the group));
    // acc = fma(v, p, acc) over the tile's cells in order; a `sink` logit then joins as in
    // `attendHeads`; out = acc·(1/S). The C paths do exactly this.
    public static func attendTiled(queries q: UnsafePointer<Float>, queryStride: Int, rows: UnsafePointer<Int32>,
                                   queryPositions: UnsafePointer<Int32>, count: Int,
                                   keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>, stride: Int,
                                   positions: UnsafePointer<Int32>, cellCount: Int, window: Int?, scale: Float,
                                   softcap: Float = 0, sink: Float? = nil,
                                   headDimension hd: Int, into out: UnsafeMutablePointer<Float>, outputStride: Int,
                                   path: KernelPath = .portable) {
        let scale = softcap != 0 ? scale / softcap : scale
        if path != .portable {
            withUnsafePointer(to: sink ?? 0) { sinkPointer in
                cn_attend_tiled_f16(path.rawValue, q, queryStride, rows, queryPositions, Int32(count),
                                    UnsafeRawPointer(keys).assumingMemoryBound(to: UInt16.self),
                                    UnsafeRawPointer(values).assumingMemoryBound(to: UInt16.self), stride, positions,
                                    Int32(cellCount), Int32(window ?? 0), scale, softcap, sink == nil ? nil : sinkPointer,
                                    Int32(hd), out, outputStride)
            }
            return
        }
        let tile = tileRows
        for i in 0..<count {
            let qi = q + Int(rows[i]) * queryStride, p = queryPositions[i]
            var acc = [Float](repeating: 0, count: hd), weights = [Float](repeating: 0, count: tile)
            var m = -Float.infinity, s: Float = 0
            var c0 = 0
            while c0 < cellCount {
                let nk = min(tile, cellCount - c0)
                var tileMax = -Float.infinity
                for c in 0..<tile {
                    var score = -Float.infinity
                    if c < nk, isVisible(cellPosition: positions[c0 + c], queryPosition: p, window: window) {
                        let k = keys + (c0 + c) * stride
                        var dot: Float = 0
                        for e in 0..<hd { dot = dot.addingProduct(Float(k[e]), qi[e]) }
                        score = (softcap != 0 ? softcap * tanhf(dot * scale) : dot * scale) + 0
                    }
                    weights[c] = score
                    tileMax = max(tileMax, score)
                }
                if tileMax != -.infinity {
                    let mNew = max(m, tileMax)
                    if mNew > m {
                        let ms = expf(m - mNew)
                        for e in 0..<hd { acc[e] *= ms }
                        s *= ms
                    }
                    m = mNew
                    var sum = 0.0
                    for g in Swift.stride(from: 0, to: tile, by: 16) {
                        for c in g..<g + 16 { weights[c] = exp(weights[c] - mNew) }
                        sum += Double(treeSum16(weights, from: g))
                    }
                    s = Float(Double(s) + sum)
                    for c in 0..<nk {
                        let v = values + (c0 + c) * stride
                        for e in 0..<hd { acc[e] = acc[e].addingProduct(Float(v[e]), weights[c]) }
                    }
                }
                c0 += tile
            }
            if let sink {
                let (ms, sum) = addSink(sink, max: m, sum: s)
                for e in 0..<hd { acc[e] *= ms }
                s = sum
            }
            let inv: Float = s == 0 ? 0 : 1 / s
            let o = out + Int(rows[i]) * outputStride
            for e in 0..<hd { o[e] = acc[e] * inv }
        }
    }

    /// Lanes l + (l+8), then + (l+4), + (l+2), + (l+1) of 16 values (GCC's _mm512_reduce_add_ps).
    static func treeSum16(_ v: [Float], from g: Int) -> Float {
        var a = (0..<8).map { v[g + $0] + v[g + $0 + 8] }
        for l in 0..<4 { a[l] = a[l] + a[l + 4] }
        return (a[0] + a[2]) + (a[1] + a[3])
    }

    /// e^x as ggml_v_expf computes it with AVX-512: n = round(x·log2 e) (by adding 1.5·2^23),
    /// b = x − n·ln2 (two FMAs with ln2 split in two), a degree-5 polynomial in b by FMAs, then
    /// 2^n applied with one rounding (scalef); |n| > 192 gives 0 for n ≤ 0, else ∞. (Also the
    /// SiLU's e^x: llama.cpp's vector SiLU uses the same function.)
    public static func exp(_ x: Float) -> Float {
        if x.isNaN { return x }  // (Int32(n) below would trap)
        let r: Float = 0x1.8p23
        let z = r.addingProduct(x, 0x1.715476p+0)
        let n = z - r
        let b = x.addingProduct(-n, 0x1.62e4p-1).addingProduct(-n, 0x1.7f7d1cp-20)
        if abs(n) > 192 { return n <= 0 ? 0 : .infinity }
        let u = b * b
        let p5 = Float(0x1.573e2ep-5).addingProduct(0x1.0e4020p-7, b)
        let p3 = Float(0x1.fffdb6p-2).addingProduct(0x1.555e66p-3, b)
        let p1 = Float(1).addingProduct(0x1.ffffecp-1, b)
        let j = p1.addingProduct(p3.addingProduct(p5, u), u)
        return scalbnf(j, Int32(n))
    }
}
