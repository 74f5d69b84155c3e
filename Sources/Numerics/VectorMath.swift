import CNumerics
import Foundation

/// Small f32 vector kernels used by the forward pass: dot products, norms, softmax,
/// activations. Each works on unsafe buffers and allocates nothing.
public enum VectorMath {
    // Σ a[i]·b[i], accumulated in 16 lanes then reduced in a fixed order, so the result depends
    // only on the inputs (never on threading or batch shape).
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 32 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self)
            i += 32
        }
        while i + 16 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            i += 16
        }
        var sum = (acc0 + acc1).sum()
        while i < n {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    // y[i] += s·x[i]
    @inline(__always)
    public static func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, scale s: Float, count n: Int) {
        var i = 0
        let ry = UnsafeMutableRawPointer(y), rx = UnsafeRawPointer(x)
        let sv = SIMD16<Float>(repeating: s)
        while i + 16 <= n {
            let v = ry.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
                + sv * rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            ry.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n {
            y[i] += s * x[i]
            i += 1
        }
    }

    /// y[i] = x[i]·s (`first`) or y[i] += x[i]·s, the product rounded before the add; in C where
    /// `path` has a kernel (the same bits).
    public static func scaleAdd(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, scale s: Float, count n: Int,
                                first: Bool, path: KernelPath) {
        if path != .portable {
            cn_scale_add(path.rawValue, y, x, s, Int32(n), first ? 1 : 0)
        } else if first {
            for j in 0..<n { y[j] = x[j] * s }
        } else {
            addScaled(y, x, scale: s, count: n)
        }
    }

    // y[i] = x[i] / sqrt(mean(x²) + eps) · w[i]   (in place allowed: y may equal x)
    //
    // llama.cpp's arithmetic (ggml_compute_forward_rms_norm_f32 then the weight multiply): each
    // square rounded to f32 and summed in f64 in order, mean rounded to f32, scale = 1/sqrtf(mean
    // + eps) in f32, y = (x·scale)·w.
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, count n: Int, eps: Float,
                               into y: UnsafeMutablePointer<Float>) {
        rmsNorm(rows: 1, x, stride: n, weight: w, count: n, eps: eps, into: y, outputStride: n)
    }

    /// `rmsNorm` of `rows` vectors (x + r·stride into y + r·outputStride), four at a time so that
    /// their in-order f64 sums run as independent chains; each row's result is the same as alone.
    public static func rmsNorm(rows: Int, _ x: UnsafePointer<Float>, stride: Int, weight w: UnsafePointer<Float>,
                               count n: Int, eps: Float, into y: UnsafeMutablePointer<Float>, outputStride: Int) {
        var r = 0
        while r + 4 <= rows {
            let x0 = x + r * stride, x1 = x0 + stride, x2 = x1 + stride, x3 = x2 + stride
            var s0: Double = 0, s1: Double = 0, s2: Double = 0, s3: Double = 0
            for i in 0..<n {
                s0 += Double(x0[i] * x0[i])
                s1 += Double(x1[i] * x1[i])
                s2 += Double(x2[i] * x2[i])
                s3 += Double(x3[i] * x3[i])
            }
            scaleRow(x0, sum: s0, weight: w, count: n, eps: eps, into: y + r * outputStride)
            scaleRow(x1, sum: s1, weight: w, count: n, eps: eps, into: y + (r + 1) * outputStride)
            scaleRow(x2, sum: s2, weight: w, count: n, eps: eps, into: y + (r + 2) * outputStride)
            scaleRow(x3, sum: s3, weight: w, count: n, eps: eps, into: y + (r + 3) * outputStride)
            r += 4
        }
        while r < rows {
            let xr = x + r * stride
            var sum: Double = 0
            for i in 0..<n { sum += Double(xr[i] * xr[i]) }
            scaleRow(xr, sum: sum, weight: w, count: n, eps: eps, into: y + r * outputStride)
            r += 1
        }
    }

    @inline(__always)
    private static func scaleRow(_ x: UnsafePointer<Float>, sum: Double, weight w: UnsafePointer<Float>, count n: Int,
                                 eps: Float, into y: UnsafeMutablePointer<Float>) {
        let mean = Float(sum / Double(n))
        let scale = 1 / (mean + eps).squareRoot()
        for i in 0..<n { y[i] = x[i] * scale * w[i] }
    }

    // y[i] = (x[i] − mean) / sqrt(var + eps) · w[i] + b[i]   (LayerNorm; in place allowed)
    //
    // llama.cpp's arithmetic (ggml_compute_forward_norm_f32, then the weight multiply and the
    // bias add): the sum in f64 rounded to f32 and divided by n for the mean, the centred squares
    // summed in f64 for the variance, scale = 1/sqrtf(var + eps) in f32, y = ((x − mean)·scale)·w + b.
    public static func layerNorm(rows: Int, _ x: UnsafePointer<Float>, stride: Int, weight w: UnsafePointer<Float>,
                                 bias b: UnsafePointer<Float>, count n: Int, eps: Float,
                                 into y: UnsafeMutablePointer<Float>, outputStride: Int) {
        for r in 0..<rows {
            let xr = x + r * stride, yr = y + r * outputStride
            var sum: Double = 0
            for i in 0..<n { sum += Double(xr[i]) }
            let mean = Float(sum) / Float(n)
            var squares: Double = 0
            for i in 0..<n {
                let v = xr[i] - mean
                squares += Double(v * v)
            }
            let scale = 1 / (Float(squares / Double(n)) + eps).squareRoot()
            for i in 0..<n { yr[i] = (xr[i] - mean) * scale * w[i] + b[i] }
        }
    }

    // x[i] = exp(x[i] − max) / Σ exp(x[j] − max), in place; returns the normalizer's log
    @discardableResult
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) -> Float {
        var maxValue = -Float.infinity
        for i in 0..<n { maxValue = max(maxValue, x[i]) }
        var sum: Double = 0
        for i in 0..<n {
            let e = expf(x[i] - maxValue)
            x[i] = e
            sum += Double(e)
        }
        let inv = Float(1.0 / sum)
        for i in 0..<n { x[i] *= inv }
        return maxValue + Float(log(sum))
    }

    // log softmax(x)[i] = x[i] − max − log Σ exp(x[j] − max), summed in f64
    public static func logSoftmax(at i: Int, _ x: UnsafePointer<Float>, count n: Int) -> Double {
        var maxValue = -Float.infinity
        for j in 0..<n { maxValue = max(maxValue, x[j]) }
        var sum: Double = 0
        for j in 0..<n { sum += Double(expf(x[j] - maxValue)) }
        return Double(x[i] - maxValue) - log(sum)
    }

    // gelu(x) ≈ ½x(1 + tanh(√(2/π)·x·(1 + 0.044715x²)))  (the tanh form Gemma uses)
    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        let c: Float = 0.797_884_560_802_865_4
        // 1 + (0.044715·x)·x fused, as GCC contracts GGML's expression
        return 0.5 * x * (1 + tanhf(c * x * Float(1).addingProduct(0.044715 * x, x)))
    }

    // gelu evaluated the way llama.cpp's CPU backend does: input and output rounded to f16
    // (it reads a 64K-entry f16 table), identity above 10 and zero below −10. Matching this
    // rounding keeps greedy outputs identical to llama.cpp's.
    @inline(__always)
    public static func geluF16(_ x: Float) -> Float {
        if x <= -10 { return 0 }
        if x >= 10 { return x }
        return Float(Float16(gelu(Float(Float16(x)))))
    }

    /// One GEGLU output as llama.cpp's ggml_vec_geglu_f32 gives it: geluF16(gate)·up, and +0
    /// (whatever up's sign) where the gate is at or below −10.
    @inline(__always)
    public static func gegluF16(_ gate: Float, _ up: Float) -> Float {
        gate <= -10 ? 0 : geluF16(gate) * up
    }

    // y[i] = f16(x[i]) (round to nearest even), for KV-cache stores
    public static func toF16(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float16>,
                             path: KernelPath = .portable) {
        if path != .portable {
            UnsafeMutableRawPointer(y).withMemoryRebound(to: UInt16.self, capacity: n) { cn_f32_to_f16(path.rawValue, x, Int32(n), $0) }
            return
        }
        for i in 0..<n { y[i] = Float16(x[i]) }
    }

    // y[i] = f32(f16(x[i])): what a product with f16 weights sees of its f32 input (ggml converts
    // the activations to f16 first, and f16·f16 products are exact in f32)
    public static func roundThroughF16(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] = Float(Float16(x[i])) }
    }

    // silu(x) = x·σ(x)
    @inline(__always)
    public static func silu(_ x: Float) -> Float {
        x / (1 + expf(-x))
    }

    /// geluF16 of every f16 value (by bit pattern), as f16 bits: llama.cpp's table, built once.
    /// (Public for the Vulkan backend, whose GELU reads the same table.)
    public static var geluF16Bits: [UInt16] { Array(geluF16Table[0..<65536]) }

    // (one entry more, 0: the C kernels gather 4 bytes at an entry, which must stay inside)
    static let geluF16Table: [UInt16] = (0..<65536).map { h in
        Float16(gelu(Float(Float16(bitPattern: UInt16(h))))).bitPattern
    } + [0]

    // x[i] = act(x[i]), in place; gelu as llama.cpp's CPU backend computes it (geluF16)
    public static func activate(_ x: UnsafeMutablePointer<Float>, count n: Int, activation: Activation) {
        switch activation {
        case .gelu: for i in 0..<n { x[i] = geluF16(x[i]) }
        case .silu: for i in 0..<n { x[i] = silu(x[i]) }
        }
    }

    // out[i] = act(gate[i])·up[i]: GELU through llama.cpp's f16 table; SiLU as llama.cpp's
    // ggml_vec_swiglu_f32 (AVX-512 build): its vector e^x (Attention.exp) for whole blocks of 16,
    // x/(1 + expf(−x)) for the rest. The C paths compute the same bits (cn_swiglu).
    public static func gatedActivation(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int,
                                       activation: Activation, into out: UnsafeMutablePointer<Float>,
                                       path: KernelPath = .portable) {
        switch (activation, path) {
        case (.gelu, .portable): for i in 0..<n { out[i] = gegluF16(gate[i], up[i]) }
        case (.gelu, _):
            geluF16Table.withUnsafeBufferPointer { cn_gelu_f16_mul(path.rawValue, gate, up, Int32(n), $0.baseAddress!, out) }
        case (.silu, .portable):
            let whole = n / 16 * 16
            for i in 0..<whole { out[i] = gate[i] / (1 + Attention.exp(0 - gate[i])) * up[i] }
            for i in whole..<n { out[i] = silu(gate[i]) * up[i] }
        case (.silu, _): cn_swiglu(path.rawValue, gate, up, Int32(n), out)
        }
    }
}

/// The gating non-linearity of a gated feed-forward block.
public enum Activation: Sendable {
    case gelu, silu
}
