import Foundation

/// Rotary position embedding, applied in place to one head vector.
///
/// Pairs are rotated by θ_i = pos · base^(−2i/d) (divided by `scale` for linear scaling). The
/// `normal` layout pairs adjacent elements (2i, 2i+1), as llama's converted weights expect; `neox`
/// pairs (i, i + d/2), as Gemma, Qwen2 and GPT-NeoX use.
public enum RoPE {
    public enum Layout: Sendable { case normal, neox }

    /// cos/sin tables for one position: `cs[2i] = m·cos θ_i`, `cs[2i+1] = m·sin θ_i` for i < dims/2.
    /// As GGML computes them, so angles match llama.cpp bit for bit: θ starts at the position and
    /// is advanced by repeated multiplication in f32; the angle used is (1/scale)·(θ/f_i), with
    /// f_i = `factors[i]` (Llama 3 / LongRoPE frequency divisors; 1 without) and m the
    /// `attentionFactor` (LongRoPE's magnitude correction; 1 without).
    public static func angles(position: Float, dims: Int, base: Float, scale: Float = 1,
                              factors: UnsafePointer<Float>? = nil, attentionFactor: Float = 1,
                              into cs: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(base, -2.0 / Float(dims))
        let frequencyScale = 1 / scale
        var theta = position
        for i in 0..<dims / 2 {
            let angle = frequencyScale * (theta / (factors?[i] ?? 1))
            cs[2 * i] = cosf(angle) * attentionFactor
            cs[2 * i + 1] = sinf(angle) * attentionFactor
            theta *= thetaScale
        }
    }

    /// Rotates the first `dims` elements of `x` by the precomputed angles, with the first product
    /// of each output fused as GCC compiles GGML's rotation (x0·c − x1·s → fma(x0, c, −x1·s)).
    public static func apply(_ x: UnsafeMutablePointer<Float>, dims: Int, layout: Layout, angles cs: UnsafePointer<Float>) {
        let half = dims / 2
        for i in 0..<half {
            let c = cs[2 * i], s = cs[2 * i + 1]
            let (a, b) = layout == .neox ? (i, i + half) : (2 * i, 2 * i + 1)
            let x0 = x[a], x1 = x[b]
            x[a] = (-(x1 * s)).addingProduct(x0, c)
            x[b] = (x1 * c).addingProduct(x0, s)
        }
    }
}
