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
    //
    // `orders` (one per activation row, nil: all empty) picks llama.cpp's batch-dependent float
    // orders for rows that follow them (see RowOrder and QuantizedDot.dot).
    public static func multiply(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int,
                                into y: UnsafeMutablePointer<Float>, pool: ComputePool,
                                path: KernelPath = KernelDispatch.current, orders: UnsafePointer<RowOrder>? = nil) {
        if let format = ActivationQuantization.format(for: w.type) {
            multiplyQuantized(w, x, batch: batch, activationFormat: format, into: y, pool: pool, path: path, orders: orders)
        } else {
            multiplyFloat(w, x, batch: batch, into: y, pool: pool, path: path)
        }
    }

    static func multiplyQuantized(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int, activationFormat: GGMLType,
                                  into y: UnsafeMutablePointer<Float>, pool: ComputePool, path: KernelPath,
                                  orders: UnsafePointer<RowOrder>? = nil) {
        let a = quantizeActivations(x, columns: w.columns, batch: batch, format: activationFormat, pool: pool, path: path)
        pool.parallelFor(w.rows, minimumChunk: 16, granule: w.packed == nil ? 1 : PackedWeights.groupRows) { rows in
            multiplyRows(w, rows, a, batch: batch, activationFormat: activationFormat, into: y, path: path, orders: orders)
        }
    }

    /// Several products of one input in one parallel region (e.g. Q, K, V or gate and up),
    /// quantizing the activations once when the weights share an activation format. Each output
    /// is computed exactly as `multiply` computes it.
    public static func multiply(_ products: (WeightMatrix, UnsafeMutablePointer<Float>)...,
                                input x: UnsafePointer<Float>, batch: Int, pool: ComputePool,
                                path: KernelPath = KernelDispatch.current, orders: UnsafePointer<RowOrder>? = nil) {
        let format = ActivationQuantization.format(for: products[0].0.type)
        let shared = format != nil && products.allSatisfy {
            ActivationQuantization.format(for: $0.0.type) == format && $0.0.columns == products[0].0.columns
        }
        guard shared, let format else {
            for (w, y) in products { multiply(w, x, batch: batch, into: y, pool: pool, path: path, orders: orders) }
            return
        }
        let a = quantizeActivations(x, columns: products[0].0.columns, batch: batch, format: format, pool: pool, path: path)
        let total = products.reduce(0) { $0 + $1.0.rows }
        let granule = products.contains { $0.0.packed != nil } ? PackedWeights.groupRows : 1
        pool.parallelFor(total, minimumChunk: 16, granule: granule) { range in
            var start = 0
            for (w, y) in products {
                let lo = max(range.lowerBound, start), hi = min(range.upperBound, start + w.rows)
                if lo < hi {
                    multiplyRows(w, (lo - start)..<(hi - start), a, batch: batch, activationFormat: format, into: y, path: path,
                                 orders: orders)
                }
                start += w.rows
            }
        }
    }

    /// Quantizes `batch` rows of `columns` floats into the pool's scratch buffer.
    static func quantizeActivations(_ x: UnsafePointer<Float>, columns k: Int, batch: Int, format: GGMLType,
                                    pool: ComputePool, path: KernelPath) -> UnsafeRawPointer {
        let rowBytes = ActivationQuantization.rowBytes(format, count: k)
        let quantized = pool.scratch(bytes: rowBytes * batch)
        pool.parallelFor(batch, minimumChunk: 8) { rows in
            for n in rows {
                ActivationQuantization.quantize(x + n * k, count: k, format: format, into: quantized + n * rowBytes, path: path)
            }
        }
        return UnsafeRawPointer(quantized)
    }

    // y[n][r] for r in `rows` and every n, from quantized activations `a`
    static func multiplyRows(_ w: WeightMatrix, _ rows: Range<Int>, _ a: UnsafeRawPointer, batch: Int,
                             activationFormat: GGMLType, into y: UnsafeMutablePointer<Float>, path: KernelPath,
                             orders: UnsafePointer<RowOrder>? = nil) {
        let k = w.columns, m = w.rows
        let rowBytes = ActivationQuantization.rowBytes(activationFormat, count: k)
        let typeID = Int32(w.type.rawValue)
        if KernelDispatch.hasMatmul(path, typeID) {
            let modes = orders.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) }
            func stored(_ r: Range<Int>) {
                guard !r.isEmpty else { return }
                cn_matmul(path.rawValue, typeID, Int32(k / w.type.blockSize), w.row(r.lowerBound), w.rowBytes,
                          Int32(r.count), a, rowBytes, Int32(batch), y + r.lowerBound, m, modes)
            }
            // The whole groups of 16 inside `rows` from the packed copy where it serves this batch
            // (the same bits); the edges from the stored rows.
            let g = PackedWeights.groupRows
            let first = (rows.lowerBound + g - 1) / g, end = min(rows.upperBound, w.rows / g * g) / g
            if w.packed != nil, first < end, PackedWeights.supports(w.type, path: path),
               PackedWeights.uses(w.type, batch: batch, orders: orders, path: path) {
                stored(rows.lowerBound..<first * g)
                PackedWeights.multiply(w, groups: first..<end, a, aStride: rowBytes, batch: batch, into: y, yStride: m, path: path,
                                       order: batch > 0 ? orders?[0] ?? [] : [])
                stored(end * g..<rows.upperBound)
                return
            }
            stored(rows)
            return
        }
        for r in rows {
            let wr = w.row(r)
            for n in 0..<batch {
                y[n * m + r] = QuantizedDot.dot(w.type, wr, a + n * rowBytes, count: k, order: orders?[n] ?? [])
            }
        }
    }

    static func multiplyFloat(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int,
                              into y: UnsafeMutablePointer<Float>, pool: ComputePool, path: KernelPath = KernelDispatch.current) {
        let k = w.columns, m = w.rows
        // (an F32 row is dotted where it lies: copying it first read the weights twice)
        let inPlace = w.type == .f32 && path != .portable
        pool.parallelFor(m, minimumChunk: 16) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { scratch in
                for r in rows {
                    let s: UnsafePointer<Float>
                    if inPlace {
                        s = w.row(r).assumingMemoryBound(to: Float.self)
                    } else {
                        w.dequantizeRow(r, into: scratch.baseAddress!)
                        s = UnsafePointer(scratch.baseAddress!)
                    }
                    for n in 0..<batch {
                        y[n * m + r] = path == .portable ? VectorMath.dot(s, x + n * k, count: k)
                                                         : cn_dot_f32(path.rawValue, s, x + n * k, Int32(k))
                    }
                }
            }
        }
    }
}
