/// Products of f32/f16 weight matrices (LoRA adapters) in the float orders of llama.cpp's CPU
/// backend built for AVX-512, for llama.cpp-exact numerics.
///
/// llama.cpp multiplies an f32 or f16 matrix one of two ways, and the two round differently:
/// - tinyBLAS (llamafile's sgemm) when the micro-batch has 2 rows or more, the width is a multiple
///   of 16 and the row count a multiple of 4: one 16-lane fused multiply-add accumulator per
///   output, reduced by `_mm512_reduce_add_ps`'s halving tree.
/// - otherwise ggml's vec_dot: four 16-lane accumulators over steps of 64, added pairwise, reduced
///   by the same tree, then the leftover columns one at a time (f32: product rounded, then added;
///   f16: in double, rounded to float at the end).
/// f16 matrices see their input rounded to f16 first (ggml converts the activations); the caller
/// passes rows already rounded. A LoRA model amplifies differences in the last bit, so only the
/// same orders agree with llama.cpp's tokens.
public enum LlamaFloatProducts {
    /// y[n][r] = W[r]·x[n] for every row r of `w` (F32 or F16) and every activation row n < batch;
    /// `sgemm[n]`: whether row n is in a micro-batch group of 2 rows or more.
    public static func multiply(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int,
                                sgemm: (Int) -> Bool, into y: UnsafeMutablePointer<Float>) {
        precondition(w.type == .f32 || w.type == .f16, "llama.cpp float products take F32 or F16 matrices")
        let k = w.columns, m = w.rows
        let tiled = k % 16 == 0 && m % 4 == 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { scratch in
            let row = scratch.baseAddress!
            for r in 0..<m {
                w.dequantizeRow(r, into: row)
                for n in 0..<batch {
                    let xn = x + n * k
                    y[n * m + r] = tiled && sgemm(n)
                        ? tinyBLASDot(row, xn, count: k)
                        : (w.type == .f16 ? vecDotF16(row, xn, count: k) : vecDotF32(row, xn, count: k))
                }
            }
        }
    }

    /// `_mm512_reduce_add_ps`: halves added lane-wise until one lane is left.
    @inline(__always)
    static func reduce(_ v: SIMD16<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// tinyBLAS's order (k a multiple of 16).
    static func tinyBLASDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count k: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc = SIMD16<Float>()
        for l in stride(from: 0, to: k, by: 16) {
            acc.addProduct(ra.loadUnaligned(fromByteOffset: 4 * l, as: SIMD16<Float>.self),
                           rb.loadUnaligned(fromByteOffset: 4 * l, as: SIMD16<Float>.self))
        }
        return reduce(acc)
    }

    /// The vectorized part of ggml_vec_dot_f32/_f16: columns below the last multiple of 64.
    @inline(__always)
    static func vectorPart(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count k: Int) -> (Float, Int) {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        let np = k & ~63
        for i in stride(from: 0, to: np, by: 64) {
            s0.addProduct(ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
            s1.addProduct(ra.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self))
            s2.addProduct(ra.loadUnaligned(fromByteOffset: 4 * (i + 32), as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: 4 * (i + 32), as: SIMD16<Float>.self))
            s3.addProduct(ra.loadUnaligned(fromByteOffset: 4 * (i + 48), as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: 4 * (i + 48), as: SIMD16<Float>.self))
        }
        return (reduce((s0 + s2) + (s1 + s3)), np)
    }

    /// ggml_vec_dot_f32's order.
    static func vecDotF32(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count k: Int) -> Float {
        var (sum, i) = vectorPart(a, b, count: k)
        while i < k {
            sum += a[i] * b[i]  // not fused: ggml builds vec.cpp without contraction
            i += 1
        }
        return sum
    }

    /// ggml_vec_dot_f16's order (inputs hold f16 values, so each product is exact in float).
    static func vecDotF16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count k: Int) -> Float {
        let (head, np) = vectorPart(a, b, count: k)
        var sum = Double(head)
        for i in np..<k { sum += Double(a[i] * b[i]) }
        return Float(sum)
    }
}
