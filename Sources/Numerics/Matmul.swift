import GGUF

/// Matrix products of a weight matrix with a batch of f32 activation rows.
public enum Matmul {
    // y[n][m] = Σ_k W[m][k]·x[n][k]   for n < batch, m < W.rows
    //
    // Quantized weights: each activation row is quantized once to the weight's partner 8-bit
    // format and every output is one `QuantizedDot` (integer sums per block). Float weights:
    // each weight row is dequantized once into a scratch row and dotted in f32. Either way each
    // y element is computed from the same operands in the same order whatever the batch size or
    // thread split, which makes results batch-invariant.
    public static func multiply(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int,
                                into y: UnsafeMutablePointer<Float>, pool: ComputePool) {
        if let format = ActivationQuantization.format(for: w.type) {
            multiplyQuantized(w, x, batch: batch, activationFormat: format, into: y, pool: pool)
        } else {
            multiplyFloat(w, x, batch: batch, into: y, pool: pool)
        }
    }

    static func multiplyQuantized(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int, activationFormat: GGMLType,
                                  into y: UnsafeMutablePointer<Float>, pool: ComputePool) {
        let k = w.columns, m = w.rows
        let rowBytes = ActivationQuantization.rowBytes(activationFormat, count: k)
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: max(1, rowBytes * batch), alignment: 64)
        defer { quantized.deallocate() }
        pool.parallelFor(batch) { rows in
            for n in rows {
                ActivationQuantization.quantize(x + n * k, count: k, format: activationFormat, into: quantized + n * rowBytes)
            }
        }
        let a = UnsafeRawPointer(quantized)
        pool.parallelFor(m, minimumChunk: 16) { rows in
            for r in rows {
                let wr = w.row(r)
                for n in 0..<batch {
                    y[n * m + r] = QuantizedDot.dot(w.type, wr, a + n * rowBytes, count: k)
                }
            }
        }
    }

    static func multiplyFloat(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int,
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
