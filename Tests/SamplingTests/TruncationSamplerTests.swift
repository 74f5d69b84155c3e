import XCTest
@testable import Sampling

final class TruncationSamplerTests: XCTestCase {
    func testTopKDenseKeepsLargestSorted() {
        let c = runDense(TopKSampler(k: 2), logits: [1, 5, 3, 4, 2])
        XCTAssertEqual(ids(c), [1, 3])
        XCTAssertTrue(c.isSorted)
        // Renormalised: e^5 / (e^5 + e^4), e^4 / (e^5 + e^4)
        let a = Float(exp(5.0) / (exp(5.0) + exp(4.0)))
        assertClose(probs(c), [a, 1 - a])
    }

    func testTopKListAndDisabledAndMinKeep() {
        XCTAssertEqual(ids(runList(TopKSampler(k: 3), list: [1, 5, 3, 4, 2])), [1, 3, 2])
        XCTAssertEqual(runDense(TopKSampler(k: 0), logits: [1, 5, 3]).count, 3)
        XCTAssertEqual(ids(runList(TopKSampler(k: 1, minKeep: 3), list: [1, 5, 3, 4, 2])), [1, 3, 2])
    }

    func testTopKOnLargeVocabularyMatchesFullSort() {
        let x = gaussianLogits(count: 262_144, seed: 7)
        let c = runDense(TopKSampler(k: 40), logits: x)
        let expected = x.enumerated().sorted { $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset) }
            .prefix(40).map { Int32($0.offset) }
        XCTAssertEqual(ids(c), Array(expected))
    }

    func testTopP() {
        let l = logits(fromProbabilities: [0.5, 0.3, 0.15, 0.05])
        let c = runList(TopPSampler(p: 0.7), list: l)
        XCTAssertEqual(ids(c), [0, 1])
        assertClose(probs(c), [0.625, 0.375])
        XCTAssertEqual(ids(runList(TopPSampler(p: 0.81), list: l)), [0, 1, 2])
        XCTAssertEqual(runList(TopPSampler(p: 1.0), list: l).count, 4)
        XCTAssertEqual(ids(runList(TopPSampler(p: 0.1, minKeep: 3), list: l)), [0, 1, 2])
    }

    func testTopPOnLargeUnsortedListUsesCorrectPrefix() {
        let x = gaussianLogits(count: 50_000, seed: 3, scale: 4)
        let c = runList(TopPSampler(p: 0.9), list: x)
        // Reference: full sort, cumulative softmax.
        let m = x.max()!
        let e = x.map { exp(Double($0 - m)) }
        let z = e.reduce(0, +)
        let order = x.indices.sorted { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }
        var cum = 0.0
        var n = 0
        for i in order { cum += e[i] / z; n += 1; if cum >= 0.9 { break } }
        XCTAssertEqual(c.count, n)
        XCTAssertEqual(ids(c), order.prefix(n).map { Int32($0) })
    }

    func testMinPDenseAndList() {
        let l = logits(fromProbabilities: [0.15, 0.5, 0.05, 0.3])
        // threshold 0.2 * 0.5 = 0.1 → drop the 0.05 token.
        XCTAssertEqual(Set(ids(runDense(MinPSampler(p: 0.2), logits: l))), [0, 1, 3])
        let c = runList(MinPSampler(p: 0.2), list: l)
        XCTAssertEqual(Set(ids(c)), [0, 1, 3])
        let kept = probs(c)
        XCTAssertEqual(kept.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(kept[ids(c).firstIndex(of: 1)!], Float(0.5 / 0.95), accuracy: 1e-5)
        // min_keep forces survivors beyond the threshold, best first.
        XCTAssertEqual(ids(runDense(MinPSampler(p: 0.9, minKeep: 2), logits: l)), [1, 3])
        XCTAssertEqual(ids(runList(MinPSampler(p: 0.9, minKeep: 2), list: l)), [1, 3])
        XCTAssertEqual(runDense(MinPSampler(p: 0, minKeep: 1), logits: l).count, 4)
    }

    func testTailFree() {
        // Sorted p = [0.4, 0.3, 0.2, 0.05, 0.05]; d1 = [.1, .1, .15, 0]; |d2| = [0, .05, .15] → [0, .25, .75].
        let l = logits(fromProbabilities: [0.05, 0.4, 0.2, 0.3, 0.05])
        XCTAssertEqual(ids(runList(TailFreeSampler(z: 0.5), list: l)), [1, 3])   // cum .25, 1.0 > .5 at i = 2
        XCTAssertEqual(ids(runList(TailFreeSampler(z: 0.2), list: l)), [1])      // cum .25 > .2 at i = 1
        XCTAssertEqual(runList(TailFreeSampler(z: 1.0), list: l).count, 5)
        let c = runList(TailFreeSampler(z: 0.5), list: l)
        assertClose(probs(c), [0.4 / 0.7, 0.3 / 0.7])
    }

    func testTypical() {
        // p = [.4, .3, .2, .1], H = 1.2799; |−ln p − H| = [.364, .076, .330, 1.023] → order 1, 2, 0, 3.
        let l = logits(fromProbabilities: [0.4, 0.3, 0.2, 0.1])
        let c = runList(TypicalSampler(p: 0.45), list: l)
        XCTAssertEqual(ids(c), [1, 2])
        assertClose(probs(c), [0.6, 0.4])
        XCTAssertEqual(ids(runList(TypicalSampler(p: 0.75), list: l)), [1, 2, 0])
        XCTAssertEqual(runList(TypicalSampler(p: 1), list: l).count, 4)
        XCTAssertEqual(ids(runList(TypicalSampler(p: 0.01, minKeep: 2), list: l)), [1, 2])
    }
}
