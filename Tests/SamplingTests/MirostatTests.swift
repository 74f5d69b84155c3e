import XCTest
@testable import Sampling

final class MirostatTests: XCTestCase {
    func testMirostatV2TruncatesBySurpriseAndAdaptsMu() {
        let s = MirostatV2Sampler(tau: 1, eta: 0.5)
        XCTAssertEqual(s.mu, 2)
        // Surprises: 1, 2, 3, 3 bits → keep the first two (≤ μ = 2), renormalised to 2/3, 1/3.
        let c = runList(s, list: logits(fromProbabilities: [0.5, 0.25, 0.125, 0.125]), seed: 5)
        XCTAssertEqual(ids(c), [0, 1])
        assertClose(probs(c), [2.0 / 3.0, 1.0 / 3.0])
        let chosen = c.selectedToken!
        let p: Float = chosen == 0 ? 2.0 / 3.0 : 1.0 / 3.0
        XCTAssertEqual(s.mu, 2, "μ only changes on accept")
        s.accept(chosen)
        XCTAssertEqual(s.mu, 2 - 0.5 * (-log2(p) - 1), accuracy: 1e-5)
        s.reset()
        XCTAssertEqual(s.mu, 2)
    }

    func testMirostatV2KeepsTopTokenWhenAllTooSurprising() {
        let s = MirostatV2Sampler(tau: 0.1, eta: 0.1)   // μ = 0.2 bits: nothing qualifies
        let c = runList(s, list: logits(fromProbabilities: [0.3, 0.4, 0.3]))
        XCTAssertEqual(ids(c), [1])
        XCTAssertEqual(c.selectedToken, 1)
    }

    func testMirostatV1EstimatesKFromZipfExponent() {
        // p_i ∝ 1/i² → ŝ = 2, ε̂ = 1, k = (2^μ / (1 − 1/N))^(1/2); N = 1000, τ = 3 → μ = 6 → k = ⌊8.004⌋ = 8.
        let n = 1000
        let raw = (1...n).map { 1.0 / Double($0 * $0) }
        let z = raw.reduce(0, +)
        let s = MirostatSampler(vocabularySize: n, tau: 3, eta: 0.1)
        let c = runList(s, list: logits(fromProbabilities: raw.map { $0 / z }), seed: 11)
        XCTAssertEqual(c.count, 8)
        XCTAssertEqual(ids(c), (0..<8).map { Int32($0) })
        let chosen = c.selectedToken!
        XCTAssertTrue((0..<8).contains(chosen))
        let topZ = (0..<8).map { raw[$0] }.reduce(0, +)
        let p = raw[Int(chosen)] / topZ
        s.accept(chosen)
        XCTAssertEqual(s.mu, Float(6 - 0.1 * (-log2(p) - 3)), accuracy: 1e-4)
    }

    func testMirostatChainSelection() throws {
        var params = SamplingParameters()
        params.mirostat = 2
        params.mirostatTau = 1
        params.seed = 3
        let chain = try SamplerChain(parameters: params, vocabulary: VocabularyInfo(size: 4), contextSize: 16)
        XCTAssertEqual(chain.stageNames, ["penalties", "temperature", "mirostat_v2"])
        let l = logits(fromProbabilities: [0.5, 0.25, 0.125, 0.125])
        for _ in 0..<20 {
            let t = chain.sample(logits: l).token
            XCTAssertTrue(t == 0 || t == 1 || t == 2 || t == 3)
            chain.accept(t)
        }
    }
}
