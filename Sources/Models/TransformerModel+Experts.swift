import CriaNumerics

extension TransformerModel {
    /// x += Σ_j w_j·expert_{e_j}(norm(x)) (+ shared expert), the mixture-of-experts block, in
    /// llama.cpp's order (`build_moe_ffn`): router logits, routing (ExpertRouting), gate and up
    /// products of each token's k experts, activation, down products, each multiplied by its
    /// weight, then summed in slot order (the most probable expert first).
    ///
    /// Pairs (token, slot) are grouped by expert so each expert's matrices are read once per
    /// step; every product row is computed as for a lone token, so a token's result never
    /// depends on which other tokens chose the same experts.
    func expertFeedForwardBlock(_ layer: Int, _ pass: ForwardPass) {
        let c = config, s = pass.scratch, n = pass.batch.count, d = c.embeddingLength
        guard let x = c.experts, let w = weights.layers[layer].experts, let e = s.experts else {
            preconditionFailure("layer \(layer) has no experts")
        }
        let k = x.used, ff = x.feedForwardLength
        normalizeInput(s.x, weight: weights.layers[layer].ffnNorm, into: s.h, rows: n)
        observe("ffn_norm-\(layer)", n, s.h, width: d)

        multiplyFloatAware(w.router, s.h, rows: n, into: e.logits, pass)
        if let bias = w.routerBias { for i in 0..<n { for j in 0..<x.count { e.logits[i * x.count + j] += bias[j] } } }
        observe("ffn_moe_logits-\(layer)", n, e.logits, width: x.count)
        route(x, logits: e.logits, rows: n, into: e)
        let grouping = ExpertGrouping(selected: e.selected, tokens: n, slots: k, expertCount: x.count)

        Matmul.multiplyExperts([(w.up, e.up), (w.gate, e.gate)], input: .perToken(s.h), grouping: grouping,
                               scratch: e.matmul, pool: pool, path: kernelPath, order: uniformOrder)
        addExpertBias(w.upBias, e.up, width: ff, grouping: grouping, selected: e.selected)
        addExpertBias(w.gateBias, e.gate, width: ff, grouping: grouping, selected: e.selected)
        eachRow(grouping.pairCount) { i in
            x.activation.apply(gate: e.gate + i * ff, up: e.up + i * ff, count: ff, into: e.gate + i * ff, path: kernelPath)
        }
        Matmul.multiplyExperts([(w.down, e.down)], input: .grouped(e.gate), grouping: grouping, scratch: e.matmul,
                               pool: pool, path: kernelPath, order: uniformOrder)
        addExpertBias(w.downBias, e.down, width: d, grouping: grouping, selected: e.selected)
        sumExperts(e, grouping: grouping, into: s.o)
        addSharedExpert(w, pass)
        observe("ffn_moe_out-\(layer)", n, s.o, width: d)
        addResidual(s.o, to: s.x, rows: n, postNorm: weights.layers[layer].postFFNNorm)
        observe("l_out-\(layer)", n, s.x, width: d)
    }

    /// Each row's k experts and weights, from its own logits only.
    private func route(_ x: ExpertConfiguration, logits: UnsafeMutablePointer<Float>, rows n: Int, into e: ExpertScratch) {
        let k = x.used
        eachRow(n) { i in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: x.count) { scratch in
                ExpertRouting.route(logits: logits + i * x.count, count: x.count, k: k, gating: x.gating,
                                    normalize: x.normalizesWeights, scale: x.weightScale, scratch: scratch.baseAddress!,
                                    experts: e.selected + i * k, weights: e.weights + i * k, path: kernelPath)
            }
        }
    }

    /// Adds each grouped row's own expert's bias row (per-expert biases, `count × width`).
    private func addExpertBias(_ bias: [Float]?, _ y: UnsafeMutablePointer<Float>, width: Int, grouping g: ExpertGrouping,
                               selected: UnsafeMutablePointer<Int32>) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for i in 0..<g.pairCount {
                let row = b.baseAddress! + Int(selected[Int(g.pairs[i])]) * width, yi = y + i * width
                for j in 0..<width { yi[j] += row[j] }
            }
        }
    }

    // o[t] = ((down[t,0]·w[t,0] + down[t,1]·w[t,1]) + down[t,2]·w[t,2]) + …  (llama.cpp's
    // ffn_moe_weighted, then its adds in slot order)
    private func sumExperts(_ e: ExpertScratch, grouping g: ExpertGrouping, into o: UnsafeMutablePointer<Float>) {
        let d = config.embeddingLength, k = g.slots
        eachRow(g.tokens) { t in
            let ot = o + t * d
            for slot in 0..<k {
                let pair = t * k + slot
                let row = e.down + Int(g.positions[pair]) * d
                VectorMath.scaleAdd(ot, row, scale: e.weights[pair], count: d, first: slot == 0, path: kernelPath)
            }
        }
    }

    // o += down(act(gate·h)·(up·h))·g of the shared expert, where the layer has one; g is
    // sigmoid(gate_inp·h) computed as llama.cpp does, silu(z)/z, or 1 without a gate vector
    private func addSharedExpert(_ w: ExpertLayerWeights, _ pass: ForwardPass) {
        guard let sGate = w.sharedGate, let sUp = w.sharedUp, let sDown = w.sharedDown, let x = config.experts,
              let e = pass.scratch.experts else { return }
        let s = pass.scratch, n = pass.batch.count, d = config.embeddingLength, ff = sGate.rows
        Matmul.multiply((sGate, s.gate), (sUp, s.up), input: s.h, batch: n, pool: pool, path: kernelPath, orders: pass.orders)
        eachRow(n) { i in
            x.activation.apply(gate: s.gate + i * ff, up: s.up + i * ff, count: ff, into: s.gate + i * ff, path: kernelPath)
        }
        Matmul.multiply(sDown, s.gate, batch: n, into: e.down, pool: pool, path: kernelPath, orders: pass.orders)
        if let gateInput = w.sharedGateInput {
            // (e.logits is free again once the tokens are routed)
            multiplyFloatAware(gateInput, s.h, rows: n, into: e.logits, pass)
            for t in 0..<n {
                let z = e.logits[t], g = VectorMath.silu(z) / z
                for j in t * d..<(t + 1) * d { s.o[j] += e.down[j] * g }
            }
        } else {
            for j in 0..<n * d { s.o[j] += e.down[j] }
        }
    }
}
