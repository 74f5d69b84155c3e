import Foundation

/// Scaled dot-product attention of one query head over cached keys and values.
public enum Attention {
    /// Which cached cells a query at `position` may see: causal, optionally within a window.
    @inline(__always)
    public static func isVisible(cellPosition: Int32, queryPosition p: Int32, window: Int?) -> Bool {
        if cellPosition > p { return false }
        if let window, Int(p - cellPosition) >= window { return false }
        return true
    }

    // out = Σ_c softmax_c(scale·q·k_c)·v_c over visible cells c, summed in cell order.
    //
    // Cell c's key is at `keys + c·stride`, its value at `values + c·stride`; `scores` needs room
    // for `cellCount` floats.
    public static func attendHead(query q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                                  stride: Int, positions: UnsafePointer<Int32>, cellCount: Int,
                                  queryPosition p: Int32, window: Int?, scale: Float, headDimension hd: Int,
                                  scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: hd)
        var maxScore = -Float.infinity
        for c in 0..<cellCount where isVisible(cellPosition: positions[c], queryPosition: p, window: window) {
            let s = VectorMath.dot(q, keys + c * stride, count: hd) * scale
            scores[c] = s
            maxScore = max(maxScore, s)
        }
        guard maxScore > -Float.infinity else { return }
        var sum: Float = 0
        for c in 0..<cellCount where isVisible(cellPosition: positions[c], queryPosition: p, window: window) {
            let e = expf(scores[c] - maxScore)
            scores[c] = e
            sum += e
        }
        let inv = 1 / sum
        for c in 0..<cellCount where isVisible(cellPosition: positions[c], queryPosition: p, window: window) {
            VectorMath.addScaled(out, values + c * stride, scale: scores[c] * inv, count: hd)
        }
    }
}
