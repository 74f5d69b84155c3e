import CriaNumerics

/// Applying LoRA adapters inside the forward pass: after each adapted product, every row adds
/// its own s·(B·(A·x)), with s from the scales of that row's sequence alone, so a row's numbers
/// never depend on which adapters the other rows of the batch use.
extension TransformerModel {
    /// Each row's user scales, one per loaded adapter (the batch's entry for the row's sequence,
    /// else `adapterScales`); nil when no row uses any adapter, so the pass skips every hook.
    func rowAdapterScales(_ batch: Batch) -> [[Float]]? {
        guard !adapters.isEmpty else { return nil }
        let rows = batch.rows.map { batch.adapterScales[$0.sequence] ?? adapterScales }
        return rows.contains(where: { $0.contains(where: { $0 != 0 }) }) ? rows : nil
    }

    /// y[i] += s_i·(B·(A·x[i])) for every adapter with a pair for (layer, target) and every row
    /// i whose scale for it is not zero (a zero scale leaves the row's y untouched, bit for bit).
    func addAdapterDeltas(_ target: LoraTarget, layer: Int, input x: UnsafePointer<Float>,
                          into y: UnsafeMutablePointer<Float>, _ pass: ForwardPass) {
        guard let scales = pass.adapterScales else { return }
        let n = pass.batch.count
        for (j, adapter) in adapters.enumerated() {
            guard let pair = adapter.pairs[layer][target.rawValue],
                  scales.contains(where: { j < $0.count && $0[j] != 0 }) else { continue }
            let r = pair.rank, nOut = pair.b.rows
            var ax = [Float](repeating: 0, count: n * r), bax = [Float](repeating: 0, count: n * nOut)
            ax.withUnsafeMutableBufferPointer { axb in
                multiplyFloatAware(pair.a, x, rows: n, into: axb.baseAddress!, pass, roundF16: true)
                tensorObserver?("lora_a-\(target)-\(layer)", n, UnsafeBufferPointer(start: axb.baseAddress!, count: n * r))
                bax.withUnsafeMutableBufferPointer { bb in
                    multiplyFloatAware(pair.b, axb.baseAddress!, rows: n, into: bb.baseAddress!, pass, roundF16: true)
                    tensorObserver?("lora_b-\(target)-\(layer)", n, UnsafeBufferPointer(start: bb.baseAddress!, count: n * nOut))
                    for i in 0..<n where j < scales[i].count && scales[i][j] != 0 {
                        VectorMath.addScaled(y + i * nOut, bb.baseAddress! + i * nOut,
                                             scale: adapter.factor(pair, scale: scales[i][j]), count: nOut)
                    }
                }
            }
        }
    }
}
