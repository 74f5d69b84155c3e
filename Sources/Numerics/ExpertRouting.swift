import CNumerics
import Foundation

/// Mixture-of-experts routing of one token: from the router's logits (one per expert) to the
/// experts it uses and their weights, in llama.cpp's order of operations (`build_moe_ffn`):
/// gate probabilities over all experts, the `k` most probable in descending order, optional
/// renormalization of their weights to sum 1, optional scale.
///
/// Every step reads only the token's own logits, so a token's routing never depends on the
/// other tokens of its batch.
public enum ExpertRouting {
    /// How router logits become expert weights.
    public enum Gating: Sendable, Equatable {
        /// softmax over all experts; the top k's probabilities are the weights (Mixtral, Qwen MoE).
        case softmax
        /// 1/(1+e^−x) per expert (DeepSeek V3 style); the top k's values are the weights.
        case sigmoid
        /// top k by logit, then softmax over the k selected logits only (gpt-oss).
        case softmaxOfSelected
    }

    /// Smallest divisor when renormalizing (llama.cpp clamps the sum to the smallest normal f16).
    public static let minimumWeightSum: Float = 6.103515625e-5

    /// Routes one token: writes the `k` chosen experts (descending by gate value, lower index first
    /// on ties) into `experts` and their weights into `weights`. `scratch` holds `count` floats.
    public static func route(logits: UnsafePointer<Float>, count n: Int, k: Int, gating: Gating, normalize: Bool,
                             scale: Float, scratch: UnsafeMutablePointer<Float>,
                             experts: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>,
                             path: KernelPath = .portable) {
        precondition(k >= 1 && k <= n, "top \(k) of \(n) experts")
        switch gating {
        case .softmax: softmax(logits, count: n, into: scratch, path: path)
        case .sigmoid: for i in 0..<n { scratch[i] = 1 / (1 + expf(-logits[i])) }
        case .softmaxOfSelected: scratch.update(from: logits, count: n)
        }
        selectTopK(scratch, count: n, k: k, into: experts)
        for j in 0..<k { weights[j] = scratch[Int(experts[j])] }
        if gating == .softmaxOfSelected {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { selected in
                softmax(weights, count: k, into: selected.baseAddress!, path: path)
                weights.update(from: selected.baseAddress!, count: k)
            }
        }
        if normalize { renormalize(weights, count: k) }
        if scale != 0 && scale != 1 { for j in 0..<k { weights[j] *= scale } }
    }

    // y[i] = e^(x[i]−max) · (1 / Σ_j e^(x[j]−max)), as ggml's CPU soft_max computes it with AVX-512:
    // 16-lane groups through ggml's exp polynomial, each group's tree sum added to an f64 total,
    // the remaining (< 16) elements through libm's expf one by one; then one f32 multiply by
    // f32(1/total).
    public static func softmax(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>,
                               path: KernelPath = .portable) {
        if path != .portable {
            cn_softmax(path.rawValue, x, Int32(n), y)
            return
        }
        var maxValue = -Float.infinity
        for i in 0..<n { maxValue = max(maxValue, x[i]) }
        var sum: Double = 0
        var i = 0
        while i + 16 <= n {
            for l in 0..<16 { y[i + l] = Attention.exp(x[i + l] - maxValue) }
            sum += Double(treeSum16(y + i))
            i += 16
        }
        while i < n {
            let e = expf(x[i] - maxValue)
            y[i] = e
            sum += Double(e)
            i += 1
        }
        let inverse = Float(1.0 / sum)
        for j in 0..<n { y[j] *= inverse }
    }

    /// Lanes l + (l+8), then + (l+4), + (l+2), + (l+1) of 16 values (GCC's _mm512_reduce_add_ps).
    static func treeSum16(_ v: UnsafePointer<Float>) -> Float {
        var a = (v[0] + v[8], v[1] + v[9], v[2] + v[10], v[3] + v[11], v[4] + v[12], v[5] + v[13], v[6] + v[14], v[7] + v[15])
        a.0 = a.0 + a.4; a.1 = a.1 + a.5; a.2 = a.2 + a.6; a.3 = a.3 + a.7
        return (a.0 + a.2) + (a.1 + a.3)
    }

    /// The indices of the `k` largest of `count` values, largest first; on equal values the lower
    /// index comes first (llama.cpp's std::sort leaves the order of ties unspecified). NaN sorts last.
    public static func selectTopK(_ values: UnsafePointer<Float>, count n: Int, k: Int, into out: UnsafeMutablePointer<Int32>) {
        func before(_ a: Int, _ b: Int) -> Bool {
            let (va, vb) = (values[a], values[b])
            if va.isNaN != vb.isNaN { return vb.isNaN }
            return va > vb || (!(va < vb) && a < b)
        }
        // insertion into a sorted list of k: k ≤ a few dozen, experts ≤ a few hundred
        var filled = 0
        for i in 0..<n {
            if filled == k && !before(i, Int(out[k - 1])) { continue }
            var j = min(filled, k - 1)
            while j > 0 && before(i, Int(out[j - 1])) {
                out[j] = out[j - 1]
                j -= 1
            }
            out[j] = Int32(i)
            filled = min(filled + 1, k)
        }
    }

    // w[j] = w[j] / max(f32(Σ_j w[j] in f64), minimumWeightSum)  (ggml's sum_rows, clamp, div)
    public static func renormalize(_ w: UnsafeMutablePointer<Float>, count k: Int) {
        var sum: Double = 0
        for j in 0..<k { sum += Double(w[j]) }
        let divisor = max(Float(sum), minimumWeightSum)
        for j in 0..<k { w[j] = w[j] / divisor }
    }
}

/// The (token, slot) pairs of a batch grouped by the expert they were routed to, so that each
/// expert's weights are read once per step for all of its tokens.
///
/// Pairs are listed expert by expert (ascending), and within an expert by token then slot; a
/// pair's index in this order is where its rows live in the grouped buffers.
public struct ExpertGrouping: Sendable {
    public let tokens: Int
    /// Experts each token uses (k).
    public let slots: Int
    /// pair (token·slots + slot) of each grouped position
    public private(set) var pairs: [Int32]
    /// grouped position of each pair (the inverse of `pairs`)
    public private(set) var positions: [Int32]
    /// The experts that have at least one pair, ascending, and where each one's pairs start
    /// (`starts[i] ..< starts[i + 1]`; `starts.count == experts.count + 1`).
    public private(set) var experts: [Int32]
    public private(set) var starts: [Int]

    /// `selected`: tokens × slots expert indices, each in 0 ..< expertCount.
    public init(selected: UnsafePointer<Int32>, tokens: Int, slots: Int, expertCount: Int) {
        self.tokens = tokens
        self.slots = slots
        let total = tokens * slots
        var counts = [Int](repeating: 0, count: expertCount)
        for p in 0..<total {
            let e = Int(selected[p])
            precondition(e >= 0 && e < expertCount, "expert \(e) of \(expertCount)")
            counts[e] += 1
        }
        experts = []
        starts = [0]
        var offset = [Int](repeating: 0, count: expertCount)
        var running = 0
        for e in 0..<expertCount where counts[e] > 0 {
            experts.append(Int32(e))
            offset[e] = running
            running += counts[e]
            starts.append(running)
        }
        pairs = [Int32](repeating: 0, count: total)
        positions = [Int32](repeating: 0, count: total)
        for p in 0..<total {
            let e = Int(selected[p])
            pairs[offset[e]] = Int32(p)
            positions[p] = Int32(offset[e])
            offset[e] += 1
        }
    }

    public var pairCount: Int { tokens * slots }
}
