import GGUF

/// Dot products of one quantized weight row with one quantized activation row, using exact
/// integer sums inside each block and f32 only for the block scales (GGUF's standard scheme).
///
/// These are the portable reference kernels; every faster variant must agree with them.
public enum QuantizedDot {
    /// Σ over the row; `w` in `weightType`, `a` in `ActivationQuantization.format(for: weightType)`,
    /// `count` elements.
    /// `order`: llama.cpp's order for the row, where it differs from invariant numerics' (its tiled
    /// matmul for Q5_K and Q6_K, its repacked gemm for Q4_K, its eight lanes for Q5_0); other
    /// formats have one order.
    public static func dot(_ weightType: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, count: Int,
                           order: RowOrder = []) -> Float {
        let tiled = order.contains(.tiledKQuant)
        if tiled, weightType == .q5_K { return q5_K(w, a, blocks: count / 256, batched: true) }
        if tiled, weightType == .q6_K { return q6_K(w, a, blocks: count / 256, batched: true) }
        if order.contains(.repackedQ4K), weightType == .q4_K { return q4_K(w, a, blocks: count / 256, gemm: true) }
        switch weightType {
        case .q8_0: return q8_0(w, a, blocks: count / 32)
        case .q4_0: return q4_0(w, a, blocks: count / 32)
        case .q5_0: return order.contains(.q0Lanes) ? q5_0(w, a, blocks: count / 32) : q5_0Totals(w, a, blocks: count / 32)
        case .q4_1: return q4_1(w, a, blocks: count / 32)
        case .q5_1: return q5_1(w, a, blocks: count / 32)
        case .iq4_nl: return iq4_nl(w, a, blocks: count / 32)
        case .q2_K: return q2_K(w, a, blocks: count / 256)
        case .q3_K: return q3_K(w, a, blocks: count / 256)
        case .q4_K: return q4_K(w, a, blocks: count / 256)
        case .q5_K: return q5_K(w, a, blocks: count / 256)
        case .q6_K: return q6_K(w, a, blocks: count / 256)
        case .iq4_xs: return iq4_xs(w, a, blocks: count / 256)
        case .mxfp4: return mxfp4(w, a, blocks: count / 32)
        case .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m: return lattice(weightType, w, a, blocks: count / 256)
        case .tq1_0, .tq2_0: return ternary(weightType, w, a, blocks: count / 256)
        default: return .nan
        }
    }

    @inline(__always) static func i8(_ p: UnsafeRawPointer, _ o: Int) -> Int32 {
        Int32(p.load(fromByteOffset: o, as: Int8.self))
    }

    @inline(__always) static func u8(_ p: UnsafeRawPointer, _ o: Int) -> Int32 {
        Int32(p.load(fromByteOffset: o, as: UInt8.self))
    }

    @inline(__always) static func q8kScale(_ a: UnsafeRawPointer) -> Float {
        Float(bitPattern: a.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
    }

    /// 32-element blocks of signed weights against Q8_0 activations, in llama.cpp's order
    /// (ggml_vec_dot_q*_0_q8_0 on x86): lane j of block b is the exact Σ over elements 4j…4j+3,
    /// fused-multiply-added with d_w·d_a into lane accumulator j, block after block; then lanes
    /// are summed j + (j+4), then + (j+2), then + (j+1). `weights(b, q)` writes block b's 32
    /// signed values into q and returns its scale d_w.
    @inline(__always)
    static func q0(_ a: UnsafeRawPointer, blocks: Int, _ weights: (Int, UnsafeMutablePointer<Int32>) -> Float) -> Float {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { qb in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 8) { accb in
                let q = qb.baseAddress!, acc = accb.baseAddress!
                acc.initialize(repeating: 0, count: 8)
                for b in 0..<blocks {
                    let ab = a + b * 34
                    let scale = weights(b, q) * loadF16(ab, 0)
                    for j in 0..<8 {
                        var lane: Int32 = 0
                        for i in 4 * j..<4 * j + 4 { lane += q[i] * i8(ab, 2 + i) }
                        acc[j] = acc[j].addingProduct(Float(lane), scale)
                    }
                }
                let h0 = acc[0] + acc[4], h1 = acc[1] + acc[5], h2 = acc[2] + acc[6], h3 = acc[3] + acc[7]
                return (h0 + h2) + (h1 + h3)
            }
        }
    }

    static func q8_0(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        q0(a, blocks: blocks) { b, q in
            let wb = w + b * 34
            for j in 0..<32 { q[j] = i8(wb, 2 + j) }
            return loadF16(wb, 0)
        }
    }

    // q_w − 8 from nibbles: low nibbles are elements 0…15, high nibbles 16…31
    static func q4_0(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        q0(a, blocks: blocks) { b, q in
            let wb = w + b * 18
            for j in 0..<16 {
                let byte = u8(wb, 2 + j)
                q[j] = (byte & 0xF) - 8
                q[j + 16] = (byte >> 4) - 8
            }
            return loadF16(wb, 0)
        }
    }

    // Block b of a Q5_0 row as 32 signed values q_w − 16 (q_w with its fifth bit from qh) into q;
    // returns its scale d_w.
    @inline(__always)
    static func q5_0Block(_ w: UnsafeRawPointer, _ b: Int, _ q: UnsafeMutablePointer<Int32>) -> Float {
        let wb = w + b * 22
        let qh = wb.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
        for j in 0..<16 {
            let byte = u8(wb, 6 + j)
            q[j] = ((byte & 0xF) | Int32((qh >> UInt32(j)) & 1) << 4) - 16
            q[j + 16] = ((byte >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4) - 16
        }
        return loadF16(wb, 0)
    }

    static func q5_0(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        q0(a, blocks: blocks) { b, q in q5_0Block(w, b, q) }
    }

    /// Q5_0 in invariant numerics' order: block b's exact Σ q_w·q_a over all 32 elements times
    /// d_w·d_a, added in Double block after block, rounded once to Float. Every product is exact
    /// (d_w·d_a has at most 22 significant bits, the block sum 17), so the only roundings are the
    /// Double additions and the last one: the result is the quantized operands' exact dot product
    /// to within an f64 rounding, in one fixed order. (The same block sums accumulated in f32
    /// moved the GPL-3 perplexity 0.23% from llama.cpp's, see docs/numerics.md.)
    static func q5_0Totals(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { qb in
            let q = qb.baseAddress!
            var acc: Double = 0
            for b in 0..<blocks {
                let ab = a + b * 34
                let dw = q5_0Block(w, b, q)
                var s: Int32 = 0
                for i in 0..<32 { s += q[i] * i8(ab, 2 + i) }
                acc += Double(s) * Double(dw * loadF16(ab, 0))
            }
            return Float(acc)
        }
    }

    // Σ_b d_w·d_a·Σ q_w·q_a + m_w·s_a   (s_a = d_a·Σ q_a, stored in the Q8_1 block)
    static func q4_1(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + b * 20, ab = a + b * 36
            var s: Int32 = 0
            for j in 0..<16 {
                let byte = u8(wb, 4 + j)
                s += (byte & 0xF) * i8(ab, 4 + j) + (byte >> 4) * i8(ab, 20 + j)
            }
            sum += loadF16(wb, 0) * loadF16(ab, 0) * Float(s) + loadF16(wb, 2) * loadF16(ab, 2)
        }
        return sum
    }

    static func q5_1(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + b * 24, ab = a + b * 36
            let qh = wb.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            var s: Int32 = 0
            for j in 0..<16 {
                let byte = u8(wb, 8 + j)
                let lo = (byte & 0xF) | Int32((qh >> UInt32(j)) & 1) << 4
                let hi = (byte >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                s += lo * i8(ab, 4 + j) + hi * i8(ab, 20 + j)
            }
            sum += loadF16(wb, 0) * loadF16(ab, 0) * Float(s) + loadF16(wb, 2) * loadF16(ab, 2)
        }
        return sum
    }

    // 16 bytes of nibbles as a 32-weight block of table levels: element j from the low nibble of
    // byte j, element j + 16 from its high nibble (IQ4_NL, MXFP4)
    @inline(__always)
    static func nibbleLevels(_ p: UnsafeRawPointer, _ kv: UnsafeBufferPointer<Int8>, into q: UnsafeMutablePointer<Int32>) {
        for j in 0..<16 {
            let byte = Int(u8(p, j))
            q[j] = Int32(kv[byte & 0xF])
            q[j + 16] = Int32(kv[byte >> 4])
        }
    }

    // levels[q_w]
    static func iq4_nl(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        IQ4Formats.levels.withUnsafeBufferPointer { kv in
            q0(a, blocks: blocks) { b, q in
                let wb = w + b * 18
                nibbleLevels(wb + 2, kv, into: q)
                return loadF16(wb, 0)
            }
        }
    }

    // MXFP4: 2·E2M1 levels[q_w] with scale 2^(e − 128), in the Q8_0 order above (llama.cpp's
    // x86 MXFP4 kernel may sum in another order: not checked)
    static func mxfp4(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        MXFP4Format.levels.withUnsafeBufferPointer { kv in
            q0(a, blocks: blocks) { b, q in
                let wb = w + b * 17
                nibbleLevels(wb + 1, kv, into: q)
                return MXFP4Format.halfScale(loadByte(wb, 0))
            }
        }
    }

    // Σ_b d·Σ_j (sc_j & 15)·Σ q·q_a − dmin·Σ_j (sc_j >> 4)·bsum_j, with d, dmin scaled by d_a
    static func q2_K(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + b * 84, ab = a + b * 292
            var isum: Int32 = 0, msum: Int32 = 0
            for j in 0..<16 {
                let sc = u8(wb, j)
                msum += (sc >> 4) * Int32(ab.loadUnaligned(fromByteOffset: 260 + 2 * j, as: Int16.self))
                var s: Int32 = 0
                for e in j * 16..<j * 16 + 16 {
                    let group = e / 128, shift = Int32(2 * ((e % 128) / 32)), idx = e % 32
                    s += ((u8(wb, 16 + group * 32 + idx) >> shift) & 3) * i8(ab, 4 + e)
                }
                isum += (sc & 0xF) * s
            }
            let da = q8kScale(ab)
            sum += da * loadF16(wb, 80) * Float(isum) - da * loadF16(wb, 82) * Float(msum)
        }
        return sum
    }

    // Σ_b d·d_a·Σ_j (s_j − 32)·Σ (q − 4·!hbit)·q_a
    static func q3_K(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + b * 110, ab = a + b * 292
            var isum: Int32 = 0
            for j in 0..<16 {
                let low = (u8(wb, 96 + j % 8) >> Int32(4 * (j / 8))) & 0xF
                let high = (u8(wb, 104 + j % 4) >> Int32(2 * (j / 4))) & 3
                let scale = (low | high << 4) - 32
                var s: Int32 = 0
                for e in j * 16..<j * 16 + 16 {
                    let group = e / 128, shift = Int32(2 * ((e % 128) / 32)), idx = e % 32
                    let q = (u8(wb, 32 + group * 32 + idx) >> shift) & 3
                    let hbit = (u8(wb, idx) >> Int32(e / 32)) & 1
                    s += (q - ((hbit ^ 1) << 2)) * i8(ab, 4 + e)
                }
                isum += scale * s
            }
            sum += q8kScale(ab) * loadF16(wb, 108) * Float(isum)
        }
        return sum
    }

    /// Float orders for Q4_K and Q5_K super-blocks (isum = Σ_j sc_j·Σ q·q_a, msum = Σ_j m_j·bsum32_j):
    /// `chains`: llama.cpp's repacked Q4_K gemv, fma(isum, d·d_a) and fma(msum, dmin·d_a) summed in
    /// two chains that are subtracted at the end (Q5_K uses it too); `gemm`: its repacked Q4_K
    /// gemm, the same two chains fed once per 64 elements; `tiled`: its tiled K-quant matmul,
    /// sum = fma(fma(−dmin, msum, isum·d), d_a, sum) per super-block.
    enum ScaleMinOrder { case chains, gemm, tiled }

    // Σ_b d·d_a·Σ_j sc_j·Σ q·q_a − dmin·d_a·Σ_j m_j·(bsum_2j + bsum_2j+1), q from `quant(wb, sub, j)`
    @inline(__always)
    static func scaleMinDot(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int, blockBytes: Int,
                            order: ScaleMinOrder, quant: (UnsafeRawPointer, Int, Int) -> Int32) -> Float {
        var scaled: Float = 0, mins: Float = 0, tiled: Float = 0
        for b in 0..<blocks {
            let wb = w + b * blockBytes, ab = a + b * 292
            let da = q8kScale(ab), d = loadF16(wb, 0), dmin = loadF16(wb, 2)
            var isum: Int32 = 0, msum: Int32 = 0
            for sub in 0..<8 {
                let (sc, m) = KQuantFormats.scaleAndMin(wb + 4, sub)
                let bs = Int32(ab.loadUnaligned(fromByteOffset: 260 + 4 * sub, as: Int16.self))
                    + Int32(ab.loadUnaligned(fromByteOffset: 262 + 4 * sub, as: Int16.self))
                msum += Int32(m) * bs
                var s: Int32 = 0
                for j in 0..<32 { s += quant(wb, sub, j) * i8(ab, 4 + sub * 32 + j) }
                isum += Int32(sc) * s
                if order == .gemm, sub % 2 == 1 {
                    scaled = scaled.addingProduct(Float(isum), d * da)
                    mins = mins.addingProduct(Float(msum), dmin * da)
                    isum = 0
                    msum = 0
                }
            }
            switch order {
            case .chains:
                scaled = scaled.addingProduct(Float(isum), d * da)
                mins = mins.addingProduct(Float(msum), dmin * da)
            case .tiled:
                tiled = tiled.addingProduct((Float(isum) * d).addingProduct(-dmin, Float(msum)), da)
            case .gemm:
                break
            }
        }
        return order == .tiled ? tiled : scaled - mins
    }

    // Q4_K has no tiled order here: llama.cpp repacks Q4_K, so it never takes its tiled matmul
    static func q4_K(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int, gemm: Bool = false) -> Float {
        scaleMinDot(w, a, blocks: blocks, blockBytes: 144, order: gemm ? .gemm : .chains) { wb, sub, j in
            (u8(wb, 16 + sub / 2 * 32 + j) >> Int32(4 * (sub % 2))) & 0xF
        }
    }

    // q with its fifth bit from qh (bit `sub` of byte j); Q5_K is not repacked, so no gemm order
    static func q5_K(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int, batched: Bool = false) -> Float {
        scaleMinDot(w, a, blocks: blocks, blockBytes: 176, order: batched ? .tiled : .chains) { wb, sub, j in
            ((u8(wb, 48 + sub / 2 * 32 + j) >> Int32(4 * (sub % 2))) & 0xF) | ((u8(wb, 16 + j) >> Int32(sub)) & 1) << 4
        }
    }

    // llama.cpp's order for Q6_K (ggml_vec_dot_q6_K_q8_K on x86): per super-block eight integer
    // lanes, lane m = Σ over elements e with e mod 32 in 4m…4m+3 of s_j·u·q_a (u = q + 32 ∈ 0…63)
    // minus 32·(s_2m·bsum_2m + s_2m+1·bsum_2m+1); fused-multiply-added with d_a·d into eight lane
    // accumulators; lanes summed l + (l+4), then + (l+2), + (l+1).
    // In batched mode (llama.cpp's tiled matmul) the lanes are summed and each super-block does
    // sum = fma(Σ lanes · d, d_a, sum).
    static func q6_K(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int, batched: Bool = false) -> Float {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8) { accBuffer in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 8) { laneBuffer in
                let acc = accBuffer.baseAddress!, lanes = laneBuffer.baseAddress!
                acc.initialize(repeating: 0, count: 8)
                var tiled: Float = 0
                for b in 0..<blocks {
                    let wb = w + b * 210, ab = a + b * 292
                    lanes.initialize(repeating: 0, count: 8)
                    for e in 0..<256 {
                        let group = e / 128, r = e % 128
                        let low = (u8(wb, group * 64 + r % 64) >> Int32(4 * (r / 64))) & 0xF
                        let high = (u8(wb, 128 + group * 32 + r % 32) >> Int32(2 * (r / 32))) & 3
                        lanes[(e % 32) / 4] += i8(wb, 192 + e / 16) * (low | high << 4) * i8(ab, 4 + e)
                    }
                    for m in 0..<8 {
                        let bs0 = Int32(ab.loadUnaligned(fromByteOffset: 260 + 4 * m, as: Int16.self))
                        let bs1 = Int32(ab.loadUnaligned(fromByteOffset: 262 + 4 * m, as: Int16.self))
                        lanes[m] -= 32 * (bs0 * i8(wb, 192 + 2 * m) + bs1 * i8(wb, 193 + 2 * m))
                    }
                    if batched {
                        var total: Int32 = 0
                        for m in 0..<8 { total += lanes[m] }
                        tiled = tiled.addingProduct(Float(total) * loadF16(wb, 208), q8kScale(ab))
                        continue
                    }
                    let d = q8kScale(ab) * loadF16(wb, 208)
                    for m in 0..<8 { acc[m] = acc[m].addingProduct(Float(lanes[m]), d) }
                }
                if batched { return tiled }
                let h0 = acc[0] + acc[4], h1 = acc[1] + acc[5], h2 = acc[2] + acc[6], h3 = acc[3] + acc[7]
                return (h0 + h2) + (h1 + h3)
            }
        }
    }

    // Σ_b d·d_a·Σ_j (s_j − 32)·Σ levels[q]·q_a, sub-blocks of 32
    static func iq4_xs(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        IQ4Formats.levels.withUnsafeBufferPointer { kv in
            var sum: Float = 0
            for b in 0..<blocks {
                let wb = w + b * 136, ab = a + b * 292
                let scalesHigh = Int32(wb.loadUnaligned(fromByteOffset: 2, as: UInt16.self).littleEndian)
                var isum: Int32 = 0
                for sub in 0..<8 {
                    let low = (u8(wb, 4 + sub / 2) >> Int32(4 * (sub % 2))) & 0xF
                    let high = (scalesHigh >> Int32(2 * sub)) & 3
                    let scale = (low | high << 4) - 32
                    var s: Int32 = 0
                    for j in 0..<16 {
                        let byte = Int(u8(wb, 8 + sub * 16 + j))
                        s += Int32(kv[byte & 0xF]) * i8(ab, 4 + sub * 32 + j) + Int32(kv[byte >> 4]) * i8(ab, 4 + sub * 32 + j + 16)
                    }
                    isum += scale * s
                }
                sum += q8kScale(ab) * loadF16(wb, 0) * Float(isum)
            }
            return sum
        }
    }
}
