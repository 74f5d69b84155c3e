import Testing
@testable import Serving

/// Self-extend's bookkeeping against the algorithm as llama-server applied it at the spec's
/// commit (shift [i, p) by ib·bd, divide [i + ib·bd, +W) by N, shift the rest by dd; p −= bd;
/// i += W/N, with ib = N·i/W, bd = W/N·(N − 1), dd = W/N − ib·bd − W), step by step, and the
/// positions it leaves in a simulated cache.
@Suite struct SelfExtendTests {
    @Test func stepsForFactorFourWidth512() {
        var s = SelfExtend(factor: 4, width: 512)
        #expect(s.rearrange().isEmpty && s.room == 512)
        s.advance(by: 512)
        #expect(s.rearrange() == [.add(lower: 0, upper: 512, delta: 0), .divide(lower: 0, upper: 512, divisor: 4),
                                  .add(lower: 512, upper: 512, delta: -384)])
        #expect(s.position == 128 && s.index == 128 && s.room == 512)
        s.advance(by: 512)
        #expect(s.rearrange() == [.add(lower: 128, upper: 640, delta: 384), .divide(lower: 512, upper: 1024, divisor: 4),
                                  .add(lower: 1024, upper: 1024, delta: -768)])
        #expect(s.position == 256 && s.index == 256)
        s.advance(by: 512)
        #expect(s.rearrange() == [.add(lower: 256, upper: 768, delta: 768), .divide(lower: 1024, upper: 1536, divisor: 4),
                                  .add(lower: 1536, upper: 1536, delta: -1152)])
        #expect(s.position == 384 && s.index == 384)
    }

    /// Tokens entering one at a time (decoding) or in chunks that stop at the window's end (a
    /// prompt) end at the same positions: every older window grouped N to a position, in order,
    /// and the newest tokens at distinct consecutive positions.
    @Test(arguments: [(4, 128, 1000), (2, 64, 333), (8, 512, 2100)])
    func cachedPositionsGroupOldTokens(_ factor: Int, _ width: Int, _ tokens: Int) {
        func run(chunk: Int) -> [Int] {
            var s = SelfExtend(factor: factor, width: width)
            var positions: [Int] = []
            while positions.count < tokens {
                for op in s.rearrange() {
                    for i in positions.indices {
                        switch op {
                        case let .add(lower, upper, delta) where (lower..<upper).contains(positions[i]): positions[i] += delta
                        case let .divide(lower, upper, divisor) where (lower..<upper).contains(positions[i]): positions[i] /= divisor
                        default: break
                        }
                    }
                }
                let n = min(chunk, s.room, tokens - positions.count)
                positions += (0..<n).map { s.position + $0 }
                s.advance(by: n)
            }
            return positions
        }
        let one = run(chunk: 1), chunks = run(chunk: 10_000)
        #expect(one == chunks)
        #expect(zip(one, one.dropFirst()).allSatisfy { $0 <= $1 }, "positions stay in order")
        let grouped = (tokens - 1) / width * width  // tokens in windows already rearranged
        for t in 0..<grouped { #expect(one[t] == t / factor) }
        for t in grouped..<tokens { #expect(one[t] == grouped / factor + (t - grouped)) }
        #expect(one.last! < width + tokens / factor)
    }
}
