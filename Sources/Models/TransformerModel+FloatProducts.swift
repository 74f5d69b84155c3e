import CriaNumerics

/// Products with F32/F16 matrices that llama.cpp computes through its float kernels rather than
/// its quantized ones (LoRA adapter pairs, mixture-of-experts routers): in llama.cpp numerics they
/// follow its float orders, since the models amplify last-bit differences in them.
extension TransformerModel {
    /// w·x for every row of the pass. In llama.cpp numerics an F32/F16 matrix takes llama.cpp's
    /// orders (`LlamaFloatProducts`), an F16 one after rounding its input to f16 as ggml converts
    /// it; otherwise Cria's product, with the input rounded for F16 matrices only where
    /// `roundF16` (LoRA deltas, which round in both modes).
    func multiplyFloatAware(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                            _ pass: ForwardPass, roundF16: Bool = false) {
        let exact = numerics == .llamaCpp && (w.type == .f32 || w.type == .f16)
        let run = { (input: UnsafePointer<Float>) in
            if exact {
                let orders = pass.orders
                LlamaFloatProducts.multiply(w, input, batch: n, sgemm: { orders[$0].contains(.multiRow) }, into: y)
            } else {
                Matmul.multiply(w, input, batch: n, into: y, pool: self.pool, path: self.kernelPath, orders: pass.orders)
            }
        }
        guard w.type == .f16, exact || roundF16 else { return run(x) }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * w.columns) { rounded in
            VectorMath.roundThroughF16(x, count: n * w.columns, into: rounded.baseAddress!)
            run(rounded.baseAddress!)
        }
    }
}
