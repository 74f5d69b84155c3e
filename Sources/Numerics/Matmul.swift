import CNumerics
import GGUF

/// Matrix products of a weight matrix with a batch of f32 activation rows.
public enum Matmul {
    // y[n][m] = Σ_k W[m][k]·x[n][k]   for n < batch, m < W.rows
    //
    // Quantized weights: each activation row is quantized once to the weight's partner 8-bit
    // format, then every output is an integer-per-block dot (C tile kernels on the `path`, or
    // `QuantizedDot` on the portable path). Float weights: each weight row is dequantized once
    // into a scratch row and dotted in f32. Either way each y element is computed from the same
    // operands by the same instruction sequence whatever the batch size, tile position or thread
    // split, which makes results batch-invariant.
    public static func multiply(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int,
                                into y: UnsafeMutablePointer<Float>, pool: ComputePool,
                                path: KernelPath = KernelDispatch.current) {
        if let format = ActivationQuantization.format(for: w.type) {
            multiplyQuantized(w, x, batch: batch, activationFormat: format, into: y, pool: pool, path: path)
        } else {
            multiplyFloat(w, x, batch: batch, into: y, pool: pool)
        }
    }

    static func multiplyQuantized(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int, activationFormat: GGMLType,
                                  into y: UnsafeMutablePointer<Float>, pool: ComputePool, path: KernelPath) {
        let k = w.columns, m = w.rows
        let rowBytes = ActivationQuantization.rowBytes(activationFormat, count: k)
        let quantized = pool.scratch(bytes: rowBytes * batch)
        pool.parallelFor(batch) { rows in
            for n in rows {
                ActivationQuantization.quantize(x + n * k, count: k, format: activationFormat,
                                                into: quantized + n * rowBytes, path: path)
            }
        }
        let a = UnsafeRawPointer(quantized)
        let typeID = Int32(w.type.rawValue)
        if KernelDispatch.hasMatmul(path, typeID) {
            let blocks = Int32(k / w.type.blockSize)
            pool.parallelFor(m, minimumChunk: 16) { rows in
                cn_matmul(path.rawValue, typeID, blocks, w.row(rows.lowerBound), w.rowBytes, Int32(rows.count),
                          a, rowBytes, Int32(batch), y + rows.lowerBound, m)
            }
            return
        }
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
