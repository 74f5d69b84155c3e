import XCTest
@testable import Sampling

final class TemperatureTests: XCTestCase {
    func testTemperatureScalesLogits() {
        let c = runList(TemperatureSampler(temperature: 0.5), list: [1, 2])
        XCTAssertEqual(c[0].logit, 2)
        XCTAssertEqual(c[1].logit, 4)
        let a = Float(1 / (1 + exp(2.0)))
        assertClose(probs(c), [a, 1 - a])
        let d = runDense(TemperatureSampler(temperature: 2), logits: [2, 4])
        XCTAssertEqual(denseArray(d), [1, 2])
    }

    func testDynamicTemperatureUsesEntropy() {
        // Uniform → normalised entropy 1 → t = T + range.
        let s = DynamicTemperatureSampler(temperature: 1, range: 0.5, exponent: 1)
        let c = runList(s, list: [0, 0, 0, 0])
        XCTAssertEqual(s.lastTemperature, 1.5, accuracy: 1e-5)
        XCTAssertEqual(c[0].logit, 0)
        // p = [.7, .1, .1, .1]: H/ln4 = h; t = 0.5 + 1.0 * h^2.
        let l = logits(fromProbabilities: [0.7, 0.1, 0.1, 0.1])
        let s2 = DynamicTemperatureSampler(temperature: 1, range: 0.5, exponent: 2)
        _ = runList(s2, list: l)
        let h = -(0.7 * log(0.7) + 3 * 0.1 * log(0.1)) / log(4.0)
        XCTAssertEqual(s2.lastTemperature, Float(0.5 + h * h), accuracy: 1e-4)
    }
}
