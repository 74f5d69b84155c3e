import XCTest
@testable import Sampling

final class InternalsTests: XCTestCase {
    func testRandomGeneratorIsDeterministicAndUniform() {
        var a = SamplingRandomGenerator(seed: 5)
        var b = SamplingRandomGenerator(seed: 5)
        var c = SamplingRandomGenerator(seed: 6)
        let sa = (0..<8).map { _ in a.next() }
        XCTAssertEqual(sa, (0..<8).map { _ in b.next() })
        XCTAssertNotEqual(sa, (0..<8).map { _ in c.next() })
        var sum = 0.0
        for _ in 0..<100_000 {
            let u = a.nextUnitDouble()
            XCTAssertTrue(u >= 0 && u < 1)
            sum += u
        }
        XCTAssertEqual(sum / 100_000, 0.5, accuracy: 0.01)
    }

    /// A random seed is reported in responses and must be a seed a request may send back: below
    /// 0xFFFFFFFF (which means "random" again), so it fits llama-server's 32-bit range.
    func testRandomSeedsFitTheRequestRange() {
        var seen = Set<UInt64>()
        for _ in 0..<10_000 {
            let s = SamplingRandomGenerator.randomSeed()
            XCTAssertLessThan(s, 0xFFFF_FFFF)
            seen.insert(s)
        }
        XCTAssertGreaterThan(seen.count, 9_990)
        var p = SamplingParameters()
        p.seed = Int64(SamplingRandomGenerator.randomSeed())
        XCTAssertFalse(p.usesRandomSeed)
    }

    func testVectorExpMatchesLibm() {
        let xs: [Float] = (0..<64).map { Float($0) * 1.37 - 80 } + [0, -0.5, 0.5, 20, -87.5, -.infinity]
        for x in xs {
            let v = FastMath.exp(SIMD8<Float>(repeating: x))[0]
            let ref = Foundation.exp(Double(x))
            XCTAssertEqual(Double(v), ref, accuracy: max(ref * 2e-6, 1e-37), "x = \(x)")
            XCTAssertEqual(Double(FastMath.exp(x)), ref, accuracy: max(ref * 2e-6, 1e-37), "scalar x = \(x)")
        }
    }

    func testSortedPrefixSelection() {
        let x = gaussianLogits(count: 5000, seed: 4)
        let c = TokenCandidates(vocabularySize: 5000)
        c.load(list: x.enumerated().map { TokenData(id: Int32($0.offset), logit: $0.element) })
        c.ensureSortedPrefix(100)
        let ref = x.indices.sorted { x[$0] > x[$1] }.prefix(100).map { Int32($0) }
        XCTAssertEqual((0..<100).map { c[$0].id }, ref)
        c.sortDescending()
        XCTAssertEqual((0..<5000).map { c[$0].id }, x.indices.sorted { x[$0] > x[$1] }.map { Int32($0) })
    }

    func testMinPDenseMatchesListOnLargeVocabulary() {
        let x = gaussianLogits(count: 100_000, seed: 12)
        let d = runDense(MinPSampler(p: 0.05), logits: x)
        let l = runList(MinPSampler(p: 0.05), list: x)
        XCTAssertEqual(Set(ids(d)), Set(ids(l)))
        let m = x.max()!
        XCTAssertEqual(d.count, x.filter { $0 >= m + log(0.05) }.count)
    }
}
