import CNumerics
import Foundation

/// Scaled dot-product attention of one query head over cached keys and values stored in f16.
public enum Attention {
    /// Which cached cells a query at `position` may see: causal, optionally within a window.
    @inline(__always)
    public static func isVisible(cellPosition: Int32, queryPosition p: Int32, window: Int?) -> Bool {
        if cellPosition > p { return false }
        if let window, Int(p - cellPosition) >= window { return false }
        return true
    }

    // out = Σ_c softmax_c(scale·q·k_c)·v_c over visible cells c, in cell order, as one streaming
    // pass (online softmax: a running max M, sum S, and accumulator rescaled when M grows).
    //
    // Numerics follow llama.cpp's CPU flash attention with an f16 cache, so that outputs agree
    // with it: q is rounded to f16, q·k is summed in f32, and the value accumulator is kept in
    // f16. The C path (`path` ≠ .portable) does exactly the same operations in the same order
    // (eight cells' scores at once, one per vector lane), so both paths give the same bits.
    // Cell c's key is at `keys + c·stride`, its value at `values + c·stride`; `query16` needs room for `headDimension` halves and `accumulator` must follow it directly (the C
    // path uses both as one scratch of 2·headDimension halves).
    public static func attendHead(query q: UnsafePointer<Float>, keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>,
                                  stride: Int, positions: UnsafePointer<Int32>, cellCount: Int,
                                  queryPosition p: Int32, window: Int?, scale: Float, headDimension hd: Int,
                                  query16: UnsafeMutablePointer<Float16>, accumulator acc: UnsafeMutablePointer<Float16>,
                                  into out: UnsafeMutablePointer<Float>, path: KernelPath = .portable) {
        if path != .portable && hd % 8 == 0 {
            // The same recurrence in C with F16C conversions.
            UnsafeMutableRawPointer(query16).withMemoryRebound(to: UInt16.self, capacity: 2 * hd) { scratch in
                cn_attend_head_f16(path.rawValue, q, UnsafeRawPointer(keys).assumingMemoryBound(to: UInt16.self),
                                   UnsafeRawPointer(values).assumingMemoryBound(to: UInt16.self), stride, positions,
                                   Int32(cellCount), p, Int32(window ?? 0), scale, Int32(hd), scratch, out)
            }
            return
        }
        for i in 0..<hd { query16[i] = Float16(q[i]) }
        acc.update(repeating: 0, count: hd)
        var m = -Float.infinity, s: Float = 0
        for c in 0..<cellCount where isVisible(cellPosition: positions[c], queryPosition: p, window: window) {
            let score = dotF16(query16, keys + c * stride, count: hd) * scale
            var ms: Float = 1, vs: Float = 1
            if score > m {
                ms = expf(m - score)
                m = score
                for i in 0..<hd { acc[i] = Float16(Float(acc[i]) * ms) }
            } else {
                vs = expf(score - m)
            }
            let v = values + c * stride
            for i in 0..<hd { acc[i] = Float16(Float(acc[i]) + Float(v[i]) * vs) }
            s = s * ms + vs
        }
        let inv: Float = s == 0 ? 0 : 1 / s
        for i in 0..<hd { out[i] = Float(acc[i]) * inv }
    }

    // Σ a[i]·b[i] over f16 inputs, accumulated in f32 in order
    @inline(__always)
    public static func dotF16(_ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float16>, count n: Int) -> Float {
        var sum: Float = 0
        for i in 0..<n { sum += Float(a[i]) * Float(b[i]) }
        return sum
    }
}
