import Foundation
import XCTest
@testable import Sampling

/// Logits whose softmax is exactly `probs` (up to float rounding).
func logits(fromProbabilities probs: [Double]) -> [Float] {
    probs.map { Float(log($0)) }
}

/// Applies a single sampler to an explicit list and returns the resulting candidates.
func runList(_ sampler: any Sampler, list: [Float], seed: UInt64 = 1) -> TokenCandidates {
    let c = TokenCandidates(vocabularySize: list.count)
    c.load(list: list.enumerated().map { TokenData(id: Int32($0.offset), logit: $0.element) })
    var rng = SamplingRandomGenerator(seed: seed)
    sampler.apply(to: c, rng: &rng)
    return c
}

/// Applies a single sampler to dense logits (the state the chain starts in).
func runDense(_ sampler: any Sampler, logits: [Float], seed: UInt64 = 1) -> TokenCandidates {
    let c = TokenCandidates(vocabularySize: logits.count)
    logits.withUnsafeBufferPointer { c.load(logits: $0) }
    var rng = SamplingRandomGenerator(seed: seed)
    sampler.apply(to: c, rng: &rng)
    return c
}

func ids(_ c: TokenCandidates) -> [Int32] {
    c.materialize()
    return (0..<c.count).map { c[$0].id }
}

func probs(_ c: TokenCandidates) -> [Float] {
    c.softmax()
    return (0..<c.count).map { c[$0].p }
}

func assertClose(_ a: [Float], _ b: [Float], accuracy: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}

/// Deterministic gaussian logits (Box–Muller over the module's own generator).
func gaussianLogits(count: Int, seed: UInt64, scale: Float = 3) -> [Float] {
    var rng = SamplingRandomGenerator(seed: seed)
    var out = [Float](repeating: 0, count: count)
    var i = 0
    while i < count {
        let u1 = max(rng.nextUnitDouble(), 1e-12)
        let u2 = rng.nextUnitDouble()
        let r = (-2 * log(u1)).squareRoot()
        out[i] = Float(r * cos(2 * .pi * u2)) * scale
        if i + 1 < count { out[i + 1] = Float(r * sin(2 * .pi * u2)) * scale }
        i += 2
    }
    return out
}

/// Copy of the dense logits, keeping the candidates alive while reading them.
func denseArray(_ c: TokenCandidates) -> [Float] {
    withExtendedLifetime(c) { Array(c.dense) }
}
