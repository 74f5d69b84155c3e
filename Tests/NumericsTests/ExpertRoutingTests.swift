import Foundation
import Testing
import GGUF
@testable import CriaNumerics
import TestSupport

/// Mixture-of-experts routing (top-k with ties, renormalization, gating) and the grouped expert
/// products: grouping rows by expert changes no bit of any row's result.
@Suite struct ExpertRoutingTests {
    static func topK(_ values: [Float], _ k: Int) -> [Int32] {
        var out = [Int32](repeating: -1, count: k)
        values.withUnsafeBufferPointer { ExpertRouting.selectTopK($0.baseAddress!, count: values.count, k: k, into: &out) }
        return out
    }

    @Test func topKIsDescendingWithTiesToTheLowerIndex() {
        #expect(Self.topK([0.1, 0.5, 0.2, 0.9, 0.3], 3) == [3, 1, 4])
        // equal values keep index order, whichever comes first in the scan
        #expect(Self.topK([0.2, 0.7, 0.2, 0.7, 0.2], 3) == [1, 3, 0])
        #expect(Self.topK([1, 1, 1, 1], 2) == [0, 1])
        // NaN never wins over a number; k = n lists everything
        #expect(Self.topK([.nan, -1, 2], 3) == [2, 1, 0])
        #expect(Self.topK([-3, -1, -2], 1) == [1])
    }

    @Test func renormalizedWeightsSumToOneAndTinySumsAreClamped() {
        var w: [Float] = [0.3, 0.1, 0.1]
        ExpertRouting.renormalize(&w, count: 3)
        #expect(w == [0.3 / Float(0.5), 0.1 / Float(0.5), 0.1 / Float(0.5)])
        #expect(abs(w.reduce(0, +) - 1) < 1e-6)
        // a sum below the smallest normal f16 divides by that instead (llama.cpp's clamp)
        var tiny: [Float] = [1e-6, 2e-6]
        ExpertRouting.renormalize(&tiny, count: 2)
        #expect(tiny == [1e-6 / ExpertRouting.minimumWeightSum, 2e-6 / ExpertRouting.minimumWeightSum])
    }

    /// ggml's softmax (16-lane polynomial groups, expf for the rest) against float64: within
    /// 2e-6 relative for 8, 20 and 128 experts.
    @Test(arguments: [8, 20, 128])
    func softmaxIsCloseToFloat64(_ n: Int) {
        var rng = SplitMix(seed: UInt64(n))
        let x = (0..<n).map { _ in Float(rng.next() % 20001) / 2000 - 5 }
        var y = [Float](repeating: 0, count: n)
        ExpertRouting.softmax(x, count: n, into: &y)
        let m = Double(x.max()!)
        let total = x.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
        for i in 0..<n {
            let reference = Foundation.exp(Double(x[i]) - m) / total
            #expect(abs(Double(y[i]) - reference) <= 2e-6 * reference, "expert \(i) of \(n)")
        }
    }

    /// The C softmax gives the portable one's bits on every path: lengths around the groups of 16,
    /// spreads that underflow some weights, −∞ and NaN logits.
    @Test(arguments: KernelDispatch.available)
    func softmaxMatchesPortable(_ path: KernelPath) {
        var rng = SplitMix(seed: 12)
        for n in [1, 8, 15, 16, 17, 32, 60, 128, 129] {
            for spread in [1.0, 30.0, 200.0] {
                var x = (0..<n).map { _ in Float((rng.unit() * 2 - 1) * spread) }
                if n > 10 { x[3] = -.infinity }
                if n > 10 && spread == 200 { x[7] = .nan }  // (every weight NaN then)
                var got = [Float](repeating: 0, count: n), want = got
                ExpertRouting.softmax(x, count: n, into: &got, path: path)
                ExpertRouting.softmax(x, count: n, into: &want, path: .portable)
                let differ = (0..<n).filter { got[$0].bitPattern != want[$0].bitPattern && !(got[$0].isNaN && want[$0].isNaN) }
                #expect(differ.isEmpty, "\(path) n \(n) spread \(spread): \(differ)")
            }
        }
    }

    /// The expert sum's scale-and-add gives the portable loop's bits on every path (with a tail).
    @Test(arguments: KernelDispatch.available)
    func scaleAddMatchesPortable(_ path: KernelPath) {
        var rng = SplitMix(seed: 13)
        let n = 2051
        let x = (0..<n).map { _ in Float(rng.unit() * 2 - 1) }, start = (0..<n).map { _ in Float(rng.unit() * 2 - 1) }
        for first in [true, false] {
            var got = start, want = start
            VectorMath.scaleAdd(&got, x, scale: 0.3721, count: n, first: first, path: path)
            VectorMath.scaleAdd(&want, x, scale: 0.3721, count: n, first: first, path: .portable)
            #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(path) first \(first)")
        }
    }

    @Test func routingPicksTheMostProbableExpertsAndRenormalizes() {
        let logits: [Float] = [0.5, 2.0, -1.0, 1.5, 0.0, 1.9]
        var scratch = [Float](repeating: 0, count: 6), experts = [Int32](repeating: -1, count: 3), weights = [Float](repeating: 0, count: 3)
        ExpertRouting.route(logits: logits, count: 6, k: 3, gating: .softmax, normalize: true, scale: 0,
                            scratch: &scratch, experts: &experts, weights: &weights)
        #expect(experts == [1, 5, 3])
        let e = [2.0, 1.9, 1.5].map { Foundation.exp($0 - 2.0) }
        for j in 0..<3 { #expect(abs(Double(weights[j]) - e[j] / e.reduce(0, +)) < 1e-6) }
        // without renormalization the weights are the softmax over all six
        ExpertRouting.route(logits: logits, count: 6, k: 3, gating: .softmax, normalize: false, scale: 0,
                            scratch: &scratch, experts: &experts, weights: &weights)
        let all = logits.map { Foundation.exp(Double($0) - 2.0) }.reduce(0, +)
        for j in 0..<3 { #expect(abs(Double(weights[j]) - e[j] / all) < 1e-6) }
        // softmax over the selected logits only (gpt-oss), with a scale
        ExpertRouting.route(logits: logits, count: 6, k: 3, gating: .softmaxOfSelected, normalize: false, scale: 2,
                            scratch: &scratch, experts: &experts, weights: &weights)
        #expect(experts == [1, 5, 3])
        for j in 0..<3 { #expect(abs(Double(weights[j]) - 2 * e[j] / e.reduce(0, +)) < 1e-6) }
        ExpertRouting.route(logits: logits, count: 6, k: 2, gating: .sigmoid, normalize: false, scale: 0,
                            scratch: &scratch, experts: &experts, weights: &weights)
        #expect(Array(experts[0..<2]) == [1, 5] && abs(weights[0] - 1 / (1 + expf(-2))) < 1e-7)
    }

    @Test func groupingListsPairsExpertByExpert() {
        // 4 tokens × 2 slots over 5 experts (expert 2 unused)
        let selected: [Int32] = [3, 0, 0, 4, 3, 1, 0, 3]
        let g = ExpertGrouping(selected: selected, tokens: 4, slots: 2, expertCount: 5)
        #expect(g.experts == [0, 1, 3, 4])
        #expect(g.starts == [0, 3, 4, 7, 8])
        // expert 0: pairs 1 (token 0), 2 (token 1), 6 (token 3); expert 1: pair 5; expert 3: 0, 4, 7; expert 4: 3
        #expect(g.pairs == [1, 2, 6, 5, 0, 4, 7, 3])
        for (position, pair) in g.pairs.enumerated() { #expect(g.positions[Int(pair)] == Int32(position)) }
    }

    static let expertFormats: [GGMLType] = [.q8_0, .q4_0, .q5_0, .q4_K, .q5_K, .q6_K]

    /// Every (token, slot) row of the grouped products is bit-identical to the same token through
    /// `Matmul.multiply` with the selected expert's matrix alone, whatever other tokens share
    /// the expert, for per-token input (gate/up, two products at once) and grouped input (down).
    /// Q5_0 in both of its orders (invariant block totals, llama.cpp's lanes). Experts of 20 rows
    /// use the stored kernels; where the path packs the format, experts of 32 rows also run from a
    /// packed copy (each expert's rows starting a group).
    @Test(arguments: expertFormats, KernelDispatch.available)
    func groupedProductsEqualEachTokenAlone(_ type: GGMLType, _ path: KernelPath) {
        for order in type == .q5_0 ? [[], RowOrder.q0Lanes] : [[]] {
            groupedProductsEqualEachTokenAlone(type, path, order: order, packed: false)
            if PackedWeights.supports(type, path: path) { groupedProductsEqualEachTokenAlone(type, path, order: order, packed: true) }
        }
    }

    func groupedProductsEqualEachTokenAlone(_ type: GGMLType, _ path: KernelPath, order: RowOrder, packed: Bool) {
        let experts = 6, rows = packed ? 32 : 20, tokens = 7, slots = 3
        let c = KernelTests.makeCase(type, rows: 2 * experts * rows, tokens: tokens * slots, seed: UInt64(type.rawValue) + 77)
        let k = c.k
        // overlapping choices: every expert is shared by several tokens, one token uses expert 5 alone
        var selected: [Int32] = (0..<tokens * slots).map { p in Int32((p / slots * 2 + p % slots) % 5) }
        selected[2] = 5
        let pool = ComputePool(threads: 2)
        let g = ExpertGrouping(selected: selected, tokens: tokens, slots: slots, expertCount: experts)
        let scratch = ExpertMatmulScratch()
        c.weights.withUnsafeBytes { wb in
            let bytes = experts * rows * (k / type.blockSize * type.typeSize)
            let store = PackedWeights()
            var a = ExpertWeights(type: type, count: experts, rows: rows, columns: k, data: wb.baseAddress!)
            var b = ExpertWeights(type: type, count: experts, rows: rows, columns: k, data: wb.baseAddress! + bytes)
            if packed {
                a = store.pack(a, path: path)
                b = store.pack(b, path: path)
                #expect(a.packed != nil && b.packed != nil && a.expert(1).packed != nil)
            }
            var ya = [Float](repeating: .nan, count: g.pairCount * rows), yb = ya, yd = ya
            var alone = [Float](repeating: .nan, count: rows)
            c.x.withUnsafeBufferPointer { xb in
                let x = xb.baseAddress!
                ya.withUnsafeMutableBufferPointer { pa in
                    yb.withUnsafeMutableBufferPointer { pb in
                        Matmul.multiplyExperts([(a, pa.baseAddress!), (b, pb.baseAddress!)], input: .perToken(x), grouping: g,
                                               scratch: scratch, pool: pool, path: path, order: order)
                    }
                }
                // grouped input: row i of x is grouped position i's input
                yd.withUnsafeMutableBufferPointer { pd in
                    Matmul.multiplyExperts([(a, pd.baseAddress!)], input: .grouped(x), grouping: g, scratch: scratch,
                                           pool: pool, path: path, order: order)
                }
                for pair in 0..<g.pairCount {
                    let t = pair / slots, e = Int(selected[pair]), i = Int(g.positions[pair])
                    for (w, y, input) in [(a, ya, x + t * k), (b, yb, x + t * k), (a, yd, x + i * k)] {
                        alone.withUnsafeMutableBufferPointer {
                            Matmul.multiply(w.expert(e), input, batch: 1, into: $0.baseAddress!, pool: pool, path: path, orders: [order])
                        }
                        let same = (0..<rows).allSatisfy { alone[$0].bitPattern == y[i * rows + $0].bitPattern }
                        #expect(same, "\(type.name) \(path) \(order) packed \(packed): pair \(pair) (token \(t), expert \(e)) differs from the token alone")
                    }
                }
            }
        }
    }
}
