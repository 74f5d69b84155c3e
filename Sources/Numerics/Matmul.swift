/// Matrix products of a weight matrix with a batch of f32 activation rows.
public enum Matmul {
    // y[n][m] = Σ_k W[m][k]·x[n][k]   for n < batch, m < W.rows
    //
    // Reference path: each weight row is dequantized once into a scratch row and dotted with every
    // activation row, so the weights are read once per batch. Each y element is one `dot` over the
    // same operands whatever the batch size or thread split, which makes results batch-invariant.
    public static func multiply(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int,
                                into y: UnsafeMutablePointer<Float>, pool: ComputePool) {
        let k = w.columns, m = w.rows
        pool.parallelFor(m, minimumChunk: 16) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { scratch in
                let s = scratch.baseAddress!
                for r in rows {
                    w.dequantizeRow(r, into: s)
                    for n in 0..<batch {
                        y[n * m + r] = VectorMath.dot(s, x + n * k, count: k)
                    }
                }
            }
        }
    }
}
