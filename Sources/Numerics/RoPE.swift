import CNumerics
import Foundation

/// Rotary position embedding, applied in place to one head vector.
///
/// Pairs are rotated by θ_i = pos · base^(−2i/d) (divided by `scale` for linear scaling). The
/// `normal` layout pairs adjacent elements (2i, 2i+1), as llama's converted weights expect; `neox`
/// pairs (i, i + d/2), as Gemma, Qwen2 and GPT-NeoX use.
public enum RoPE {
    public enum Layout: Sendable { case normal, neox }

    /// YaRN's blend between interpolated and extrapolated angles: dimension pair i takes
    /// (1 − r_i)·interpolated + r_i·extrapolated with r_i = 1 − clamp((i − low)/max(0.001, high − low), 0, 1),
    /// and cos/sin are multiplied by `magnitude` (1 + 0.1·ln(1/frequency scale)).
    public struct YaRN: Sendable, Equatable {
        public var low: Float, high: Float, magnitude: Float
        /// How strongly the ramp blends in the extrapolated angle (llama.cpp's `yarn_ext_factor`, 1 by default).
        public var extrapolationFactor: Float = 1

        public init(low: Float, high: Float, magnitude: Float) {
            self.low = low
            self.high = high
            self.magnitude = magnitude
        }

        /// The correction range as ggml's `ggml_rope_yarn_corr_dims` derives it from the rotated
        /// dimensions, the original context, the base and the β bounds (32 and 1 by default), and
        /// the magnitude for a scaling `factor` (> 1).
        public init(dims: Int, originalContext: Int, base: Float, factor: Float, betaFast: Float = 32, betaSlow: Float = 1) {
            func correctionDim(_ beta: Float) -> Float {
                Float(dims) * logf(Float(originalContext) / (beta * 2 * Float.pi)) / (2 * logf(base))
            }
            low = max(0, floorf(correctionDim(betaFast)))
            high = min(Float(dims - 1), ceilf(correctionDim(betaSlow)))
            // 1 + 0.1·ln(1/s) for s = 1/factor, fused as GCC compiles ggml's rope_yarn
            magnitude = Self.magnitude(factor)
        }

        /// 1 + 0.1·ln(f) for f = 1/(1/factor) (the factor back from llama.cpp's frequency scale),
        /// fused as GCC compiles llama.cpp's expressions.
        public static func magnitude(_ factor: Float) -> Float {
            Float(1).addingProduct(0.1, logf(1 / (1 / factor)))
        }
    }

    /// cos/sin tables for one position: `cs[2i] = m·cos θ_i`, `cs[2i+1] = m·sin θ_i` for i < dims/2.
    /// As GGML computes them, so angles match llama.cpp bit for bit: θ starts at the position and
    /// is advanced by repeated multiplication in f32; the angle used is (1/scale)·(θ/f_i), with
    /// f_i = `factors[i]` (Llama 3 / LongRoPE frequency divisors; 1 without) and m the
    /// `attentionFactor` (LongRoPE's magnitude correction; 1 without); with `yarn`, the angle is
    /// blended with the unscaled θ/f_i and m multiplied by YaRN's magnitude.
    public static func angles(position: Float, dims: Int, base: Float, scale: Float = 1,
                              factors: UnsafePointer<Float>? = nil, attentionFactor: Float = 1, yarn: YaRN? = nil,
                              into cs: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(base, -2.0 / Float(dims))
        let frequencyScale = 1 / scale
        let m = yarn.map { attentionFactor * $0.magnitude } ?? attentionFactor
        var theta = position
        for i in 0..<dims / 2 {
            let extrapolated = theta / (factors?[i] ?? 1)
            var angle = frequencyScale * extrapolated
            if let yarn {
                let y = (Float(i) - yarn.low) / max(0.001, yarn.high - yarn.low)
                let ramp = (1 - min(1, max(0, y))) * yarn.extrapolationFactor
                // interpolated·(1 − r) + extrapolated·r, the first product fused as GCC compiles it
                angle = (extrapolated * ramp).addingProduct(angle, 1 - ramp)
            }
            cs[2 * i] = cosf(angle) * m
            cs[2 * i + 1] = sinf(angle) * m
            theta *= thetaScale
        }
    }

    /// Rotates the first `dims` elements of `x` by the precomputed angles, with the first product
    /// of each output fused as GCC compiles GGML's rotation (x0·c − x1·s → fma(x0, c, −x1·s)).
    /// `apply` to `heads` vectors `x + h·stride`, in C where `path` has a kernel (the same bits).
    public static func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, stride: Int, dims: Int, layout: Layout,
                             angles cs: UnsafePointer<Float>, path: KernelPath) {
        if path != .portable {
            cn_rope(path.rawValue, x, Int32(heads), stride, Int32(dims), layout == .neox ? 1 : 0, cs)
            return
        }
        for h in 0..<heads { apply(x + h * stride, dims: dims, layout: layout, angles: cs) }
    }

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
