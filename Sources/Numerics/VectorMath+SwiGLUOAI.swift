import Foundation

extension VectorMath {
    /// gpt-oss's expert activation (ggml's `swiglu_oai`): the gate is capped at `limit`, the up
    /// projection clamped to ±`limit`, and out = g·σ(α·g)·(u + 1) with g = min(gate, limit),
    /// u = clamp(up, −limit, limit). gpt-oss uses α = 1.702, limit = 7.
    // out[i] = g / (1 + e^(−α·g)) · (u + 1), in ggml's operation order
    public static func swigluOAI(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int,
                                 alpha: Float, limit: Float, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            let g = min(gate[i], limit)
            let u = min(max(up[i], -limit), limit)
            out[i] = g / (1 + expf(alpha * -g)) * (u + 1)
        }
    }
}
