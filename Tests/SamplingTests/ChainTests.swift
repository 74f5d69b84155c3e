import XCTest
@testable import Sampling

final class ChainTests: XCTestCase {
    func params(_ edit: (inout SamplingParameters) -> Void) -> SamplingParameters {
        var p = SamplingParameters()
        p.repeatLastN = 0
        edit(&p)
        return p
    }

    func testOrderChangesResult() throws {
        let l = logits(fromProbabilities: [0.4, 0.3, 0.2, 0.1])
        let vocab = VocabularyInfo(size: 4)
        // min_p then temperature: min_p(0.3) keeps p ≥ 0.12 → 3 tokens; then T = 0.5 squares them.
        let a = try SamplerChain(parameters: params {
            $0.samplers = ["min_p", "temperature"]; $0.minP = 0.3; $0.temperature = 0.5; $0.nProbs = 4; $0.seed = 1
        }, vocabulary: vocab, contextSize: 16)
        let ra = a.sample(logits: l).probabilities!
        XCTAssertEqual(ra.postSampling.map(\.token), [0, 1, 2])
        assertClose(ra.postSampling.map(\.probability), [0.16 / 0.29, 0.09 / 0.29, 0.04 / 0.29], accuracy: 1e-5)
        // temperature then min_p: p ∝ [.16, .09, .04, .01] → threshold .3·.533 = .16 → 2 tokens.
        let b = try SamplerChain(parameters: params {
            $0.samplers = ["temperature", "min_p"]; $0.minP = 0.3; $0.temperature = 0.5; $0.nProbs = 4; $0.seed = 1
        }, vocabulary: vocab, contextSize: 16)
        let rb = b.sample(logits: l).probabilities!
        XCTAssertEqual(rb.postSampling.map(\.token), [0, 1])
        assertClose(rb.postSampling.map(\.probability), [0.64, 0.36], accuracy: 1e-5)
        // A sampler listed twice is applied twice; an omitted one is not applied.
        let c = try SamplerChain(parameters: params {
            $0.samplers = ["temperature", "temperature"]; $0.temperature = 0.5; $0.nProbs = 4
        }, vocabulary: vocab, contextSize: 16)
        XCTAssertEqual(c.stageNames, ["temperature", "temperature", "dist"])
        let rc = c.sample(logits: l).probabilities!
        // p ∝ p^4
        let p4 = [0.4, 0.3, 0.2, 0.1].map { pow($0, 4.0) }
        let z = p4.reduce(0, +)
        assertClose(rc.postSampling.map(\.probability), p4.map { Float($0 / z) }, accuracy: 1e-5)
    }

    func testDefaultChainStages() throws {
        let chain = try SamplerChain(parameters: SamplingParameters(), vocabulary: VocabularyInfo(size: 100), contextSize: 16)
        XCTAssertEqual(chain.stageNames, ["penalties", "top_k", "tfs_z", "typical_p", "top_p", "min_p", "temperature", "dist"])
    }

    func testFixedSeedReproducesAndIsIndependentOfInterleaving() throws {
        let vocab = VocabularyInfo(size: 1000)
        let p = params { $0.temperature = 1; $0.seed = 1234; $0.topK = 0; $0.topP = 1; $0.minP = 0 }
        let steps = (0..<64).map { gaussianLogits(count: 1000, seed: UInt64(100 + $0), scale: 1) }
        // Run A alone.
        let a = try SamplerChain(parameters: p, vocabulary: vocab, contextSize: 128)
        var tokensA: [Int32] = []
        for l in steps { let t = a.sample(logits: l).token; a.accept(t); tokensA.append(t) }
        // Run B interleaved with an unrelated sequence C (different seed, different logits).
        let b = try SamplerChain(parameters: p, vocabulary: vocab, contextSize: 128)
        var pc = p
        pc.seed = 99
        let c = try SamplerChain(parameters: pc, vocabulary: vocab, contextSize: 128)
        var tokensB: [Int32] = []
        var tokensC: [Int32] = []
        for (i, l) in steps.enumerated() {
            for _ in 0..<(i % 3) { let t = c.sample(logits: steps[(i * 7) % 64]).token; c.accept(t) }
            let t = b.sample(logits: l).token
            b.accept(t)
            tokensB.append(t)
            let tc = c.sample(logits: l).token
            c.accept(tc)
            tokensC.append(tc)
        }
        XCTAssertEqual(tokensA, tokensB)
        XCTAssertNotEqual(tokensA, tokensC, "a different seed should give a different stream")
        XCTAssertGreaterThan(Set(tokensA).count, 10, "temperature 1 over a flat distribution is not greedy")
        // reset() replays the same stream.
        a.reset()
        var replay: [Int32] = []
        for l in steps { let t = a.sample(logits: l).token; a.accept(t); replay.append(t) }
        XCTAssertEqual(replay, tokensA)
    }

    func testRandomSeedWhenMinusOne() throws {
        for s: Int64 in [-1, 0xFFFF_FFFF] {
            let p = params { $0.seed = s }
            let a = try SamplerChain(parameters: p, vocabulary: VocabularyInfo(size: 10), contextSize: 16)
            let b = try SamplerChain(parameters: p, vocabulary: VocabularyInfo(size: 10), contextSize: 16)
            XCTAssertNotEqual(a.seed, b.seed)
        }
        let fixed = try SamplerChain(parameters: params { $0.seed = 42 }, vocabulary: VocabularyInfo(size: 10), contextSize: 16)
        XCTAssertEqual(fixed.seed, 42)
    }

    func testDistributionFrequenciesMatchProbabilities() throws {
        let chain = SamplerChain(vocabulary: VocabularyInfo(size: 3), samplers: [DistributionSampler()], seed: 77)
        let l = logits(fromProbabilities: [0.5, 0.3, 0.2])
        var counts = [0, 0, 0]
        let n = 20_000
        for _ in 0..<n { counts[Int(chain.sample(logits: l).token)] += 1 }
        XCTAssertEqual(Double(counts[0]) / Double(n), 0.5, accuracy: 0.02)
        XCTAssertEqual(Double(counts[1]) / Double(n), 0.3, accuracy: 0.02)
        XCTAssertEqual(Double(counts[2]) / Double(n), 0.2, accuracy: 0.02)
    }

    func testGreedyReportsProbabilities() throws {
        let chain = try SamplerChain(parameters: params { $0.temperature = 0; $0.nProbs = 2 },
                                     vocabulary: VocabularyInfo(size: 4), contextSize: 16)
        let l = logits(fromProbabilities: [0.1, 0.6, 0.1, 0.2])
        let r = chain.sample(logits: l)
        XCTAssertEqual(r.token, 1)
        let pr = r.probabilities!
        XCTAssertEqual(pr.preSampling.map(\.token), [1, 3])
        assertClose(pr.preSampling.map(\.probability), [0.6, 0.2])
        XCTAssertEqual(pr.preSampling[1].logprob, Float(log(0.2)), accuracy: 1e-5)
        XCTAssertEqual(pr.selectedPreSampling.probability, 0.6, accuracy: 1e-5)
        XCTAssertEqual(pr.selectedPostSampling.probability, 0.6, accuracy: 1e-5)
        XCTAssertEqual(pr.postSampling.map(\.token), [1, 3])
    }

    func testPreAndPostSamplingProbabilitiesDiffer() throws {
        // Raw logits uniform; bias token 0 by ln 3 → post p0 = 3/6, pre p0 = 1/4.
        let chain = try SamplerChain(parameters: params {
            $0.samplers = []; $0.nProbs = 4; $0.seed = 5; $0.temperature = 1
            $0.logitBias = [LogitBiasEntry(.token(0), .add(Float(log(3.0))))]
        }, vocabulary: VocabularyInfo(size: 4), contextSize: 16)
        let r = chain.sample(logits: [0, 0, 0, 0])
        let pr = r.probabilities!
        assertClose(pr.preSampling.map(\.probability), [0.25, 0.25, 0.25, 0.25])
        XCTAssertEqual(pr.postSampling.map(\.token)[0], 0)
        assertClose(pr.postSampling.map(\.probability), [0.5, 1 / 6.0, 1 / 6.0, 1 / 6.0])
        XCTAssertEqual(pr.selectedPreSampling.probability, 0.25, accuracy: 1e-6)
        XCTAssertEqual(pr.selectedPostSampling.probability, r.token == 0 ? 0.5 : 1 / 6.0, accuracy: 1e-6)
    }

    func testNoProbabilitiesWhenNProbsZero() throws {
        let chain = try SamplerChain(parameters: params { $0.seed = 1 }, vocabulary: VocabularyInfo(size: 8), contextSize: 16)
        XCTAssertNil(chain.sample(logits: [Float](repeating: 0, count: 8)).probabilities)
    }

    func testTopKOnLargeVocabularyThroughDefaultChain() throws {
        let vocab = VocabularyInfo(size: 262_144)
        let x = gaussianLogits(count: 262_144, seed: 9)
        let chain = try SamplerChain(parameters: params { $0.seed = 3; $0.nProbs = 40 }, vocabulary: vocab, contextSize: 4096)
        let r = chain.sample(logits: x)
        let top40 = Set(x.indices.sorted { x[$0] > x[$1] }.prefix(40).map { Int32($0) })
        XCTAssertTrue(top40.contains(r.token))
        XCTAssertTrue(Set(r.probabilities!.postSampling.map(\.token)).isSubset(of: top40))
        XCTAssertEqual(r.probabilities!.preSampling.map(\.token), x.indices.sorted { x[$0] > x[$1] }.prefix(40).map { Int32($0) })
        // The vectorised softmax matches a double-precision reference.
        let m = Double(x.max()!)
        let z = x.reduce(0.0) { $0 + exp(Double($1) - m) }
        let p0 = exp(Double(x[Int(r.token)]) - m) / z
        XCTAssertEqual(Double(r.probabilities!.selectedPreSampling.probability), p0, accuracy: p0 * 1e-4)
    }
}

/// Allows only even token ids; counts calls so the fast path can be checked.
final class EvenOnly: TokenConstraint {
    var allowsCalls = 0
    var maskCalls = 0
    var accepted: [Int32] = []
    func allows(_ token: Int32) -> Bool { allowsCalls += 1; return token % 2 == 0 }
    func maskDisallowed(_ logits: UnsafeMutableBufferPointer<Float>) {
        maskCalls += 1
        for i in logits.indices where i % 2 == 1 { logits[i] = -.infinity }
    }
    func accept(_ token: Int32) { accepted.append(token) }
    func reset() { accepted = [] }
}

final class ConstraintTests: XCTestCase {
    func testRejectedTokenIsResampledUnderMask() throws {
        var p = SamplingParameters()
        p.temperature = 0
        let g = EvenOnly()
        let chain = try SamplerChain(parameters: p, vocabulary: VocabularyInfo(size: 6), contextSize: 16, constraint: g)
        let t = chain.sample(logits: [0, 9, 1, 8, 3, 7]).token
        XCTAssertEqual(t, 4)
        XCTAssertEqual(g.maskCalls, 1)
        chain.accept(t)
        XCTAssertEqual(g.accepted, [4])
    }

    func testAllowedTokenSkipsMask() throws {
        var p = SamplingParameters()
        p.seed = 8
        let g = EvenOnly()
        let chain = try SamplerChain(parameters: p, vocabulary: VocabularyInfo(size: 4), contextSize: 16, constraint: g)
        XCTAssertEqual(chain.sample(logits: [10, 0, 0, 0]).token, 0)
        XCTAssertEqual(g.allowsCalls, 1)
        XCTAssertEqual(g.maskCalls, 0)
    }

    func testSampledTokensAlwaysSatisfyConstraint() throws {
        var p = SamplingParameters()
        p.seed = 21
        p.temperature = 1.5
        p.topK = 0; p.topP = 1; p.minP = 0
        let g = EvenOnly()
        let chain = try SamplerChain(parameters: p, vocabulary: VocabularyInfo(size: 50), contextSize: 64, constraint: g)
        for i in 0..<200 {
            let t = chain.sample(logits: gaussianLogits(count: 50, seed: UInt64(i), scale: 1)).token
            XCTAssertEqual(t % 2, 0)
            chain.accept(t)
        }
        XCTAssertGreaterThan(g.maskCalls, 0)
    }

    /// A finished grammar allows only end of generation; with EOS banned nothing is possible, and
    /// the chain says so instead of passing off a token the grammar rejects as a sample.
    func testConstraintThatAdmitsOnlyABannedTokenIsReported() throws {
        final class OnlyEOS: TokenConstraint {
            func allows(_ token: Int32) -> Bool { token == 3 }
            func accept(_ token: Int32) {}
            func reset() {}
        }
        let vocabulary = VocabularyInfo(size: 6, eosTokens: [3])
        let logits: [Float] = [0, 9, 1, 2, 3, 7]
        for (ignoreEos, greedy) in [(true, true), (true, false), (false, true), (false, false)] {
            var p = SamplingParameters()
            p.ignoreEos = ignoreEos
            p.temperature = greedy ? 0 : 0.8
            p.seed = 5
            p.nProbs = greedy ? 0 : 2
            let chain = try SamplerChain(parameters: p, vocabulary: vocabulary, contextSize: 16, constraint: OnlyEOS())
            let sampled = chain.sample(logits: logits)
            XCTAssertEqual(sampled.constraintAdmitsNothing, ignoreEos, "ignore_eos \(ignoreEos), greedy \(greedy)")
            XCTAssertEqual(sampled.constraintCouldEnd, ignoreEos, "ignore_eos \(ignoreEos), greedy \(greedy)")
            if ignoreEos { XCTAssertNil(sampled.probabilities) } else { XCTAssertEqual(sampled.token, 3) }
        }
        // the same with the end banned by a logit bias instead
        var p = SamplingParameters()
        p.temperature = 0
        p.logitBias = [LogitBiasEntry(.token(3), .ban)]
        let chain = try SamplerChain(parameters: p, vocabulary: vocabulary, contextSize: 16, constraint: OnlyEOS())
        let banned = chain.sample(logits: logits)
        XCTAssertTrue(banned.constraintAdmitsNothing && banned.constraintCouldEnd)
        // a grammar cut off mid-way: it allows only token 1, which a logit bias bans; it could not end here
        final class OnlyOne: TokenConstraint {
            func allows(_ token: Int32) -> Bool { token == 1 }
            func accept(_ token: Int32) {}
            func reset() {}
        }
        var cut = SamplingParameters()
        cut.temperature = 0
        cut.logitBias = [LogitBiasEntry(.token(1), .ban)]
        let cutChain = try SamplerChain(parameters: cut, vocabulary: vocabulary, contextSize: 16, constraint: OnlyOne())
        let stuck = cutChain.sample(logits: logits)
        XCTAssertTrue(stuck.constraintAdmitsNothing)
        XCTAssertFalse(stuck.constraintCouldEnd)
        // an ordinary rejection that the mask resolves is not reported
        var q = SamplingParameters()
        q.temperature = 0
        let even = try SamplerChain(parameters: q, vocabulary: VocabularyInfo(size: 6), contextSize: 16, constraint: EvenOnly())
        XCTAssertFalse(even.sample(logits: [0, 9, 1, 8, 3, 7]).constraintAdmitsNothing)
    }

    func testDefaultMaskUsesAllows() {
        final class OnlyTwo: TokenConstraint {
            func allows(_ token: Int32) -> Bool { token == 2 }
            func accept(_ token: Int32) {}
            func reset() {}
        }
        var l: [Float] = [1, 2, 3, 4]
        l.withUnsafeMutableBufferPointer { OnlyTwo().maskDisallowed($0) }
        XCTAssertEqual(l, [-.infinity, -.infinity, 3, -.infinity])
    }
}
