import XCTest
@testable import Sampling

/// XTC, top-n-sigma and DRY (today's llama-server samplers). Expected values are worked out by
/// hand in the comments, or (DRY's repeat lengths on random histories) by a brute-force O(n²)
/// re-implementation of llama.cpp's definition inside the test.
final class ModernSamplerTests: XCTestCase {
    // MARK: XTC

    func testXTCRemovesAllButTheLeastProbableAboveThreshold() {
        let l = logits(fromProbabilities: [0.4, 0.3, 0.2, 0.1])
        // Above 0.15: 0.4, 0.3, 0.2 → the two most probable go, 0.2 stays.
        let c = runList(XTCSampler(probability: 1, threshold: 0.15, seed: 1), list: l)
        XCTAssertEqual(ids(c), [2, 3])
        assertClose(probs(c), [2.0 / 3, 1.0 / 3])
        // The same from the dense state and from an unsorted list.
        XCTAssertEqual(ids(runDense(XTCSampler(probability: 1, threshold: 0.15, seed: 1), logits: l)), [2, 3])
        let shuffled = logits(fromProbabilities: [0.1, 0.4, 0.2, 0.3])
        let s = runList(XTCSampler(probability: 1, threshold: 0.15, seed: 1), list: shuffled)
        XCTAssertEqual(Set(ids(s)), [0, 2])
        XCTAssertEqual(ids(s).first, 2)
        // Threshold 0: every token is above it, only the least probable survives.
        XCTAssertEqual(ids(runList(XTCSampler(probability: 1, threshold: 0, seed: 1), list: l)), [3])
    }

    func testXTCLeavesCandidatesWhenFewerThanTwoAboveOrDisabled() {
        let l = logits(fromProbabilities: [0.4, 0.3, 0.2, 0.1])
        // Only 0.4 ≥ 0.35: nothing to remove.
        XCTAssertEqual(runList(XTCSampler(probability: 1, threshold: 0.35, seed: 1), list: l).count, 4)
        // Probability 0 and threshold > 0.5 disable it.
        XCTAssertEqual(runList(XTCSampler(probability: 0, threshold: 0.15, seed: 1), list: l).count, 4)
        XCTAssertEqual(runList(XTCSampler(probability: 1, threshold: 0.51, seed: 1), list: l).count, 4)
        XCTAssertFalse(XTCSampler.isActive(probability: 0, threshold: 0.1))
        XCTAssertFalse(XTCSampler.isActive(probability: 1, threshold: 0.6))
        XCTAssertTrue(XTCSampler.isActive(probability: 1, threshold: 0.5))
        // min_keep: removing two of four would leave 2 < 3.
        XCTAssertEqual(runList(XTCSampler(probability: 1, threshold: 0.15, minKeep: 3, seed: 1), list: l).count, 4)
        // One candidate: nothing.
        XCTAssertEqual(runList(XTCSampler(probability: 1, threshold: 0, seed: 1), list: [1]).count, 1)
    }

    func testXTCProbabilityIsTheChanceOfRemoval() {
        let l = logits(fromProbabilities: [0.4, 0.3, 0.2, 0.1])
        let x = XTCSampler(probability: 0.3, threshold: 0.15, seed: 42)
        var removed: [Bool] = []
        var rng = SamplingRandomGenerator(seed: 0)
        let c = TokenCandidates(vocabularySize: 4)
        for _ in 0..<4000 {
            c.load(list: l.enumerated().map { TokenData(id: Int32($0.offset), logit: $0.element) })
            x.apply(to: c, rng: &rng)
            removed.append(c.count == 2)
        }
        let rate = Double(removed.filter { $0 }.count) / Double(removed.count)
        XCTAssertEqual(rate, 0.3, accuracy: 0.03)
        // Its own generator: the chain's is untouched, and reset replays the same decisions.
        XCTAssertEqual(rng, SamplingRandomGenerator(seed: 0))
        x.reset()
        var again: [Bool] = []
        for _ in 0..<200 {
            c.load(list: l.enumerated().map { TokenData(id: Int32($0.offset), logit: $0.element) })
            x.apply(to: c, rng: &rng)
            again.append(c.count == 2)
        }
        XCTAssertEqual(again, Array(removed.prefix(200)))
    }

    // MARK: top-n-sigma

    func testTopNSigmaKeepsTokensWithinNSigmaOfMax() {
        // Logits 0…4: mean 2, variance (4+1+0+1+4)/5 = 2, σ = √2 ≈ 1.414.
        let l: [Float] = [0, 1, 2, 3, 4]
        // n = 1: keep l ≥ 4 − 1.414 = 2.586 → tokens 3, 4.
        XCTAssertEqual(Set(ids(runList(TopNSigmaSampler(n: 1), list: l))), [3, 4])
        XCTAssertEqual(Set(ids(runDense(TopNSigmaSampler(n: 1), logits: l))), [3, 4])
        // n = 2: 4 − 2.828 = 1.172 → tokens 2, 3, 4.
        XCTAssertEqual(Set(ids(runList(TopNSigmaSampler(n: 2), list: l))), [2, 3, 4])
        // n = 1.4 (just under √2 · … : 4 − 1.98 = 2.02) → 3, 4; n = 1.42 → 4 − 2.008 = 1.992 → 2, 3, 4.
        XCTAssertEqual(Set(ids(runList(TopNSigmaSampler(n: 1.4), list: l))), [3, 4])
        XCTAssertEqual(Set(ids(runList(TopNSigmaSampler(n: 1.42), list: l))), [2, 3, 4])
        // A tiny n keeps only the maximum; n ≤ 0 disables.
        XCTAssertEqual(ids(runList(TopNSigmaSampler(n: 1e-6), list: l)), [4])
        XCTAssertEqual(runList(TopNSigmaSampler(n: 0), list: l).count, 5)
        XCTAssertEqual(runList(TopNSigmaSampler(n: -1), list: l).count, 5)
        // −∞ logits (banned tokens) do not count in the mean or σ.
        XCTAssertEqual(Set(ids(runList(TopNSigmaSampler(n: 1), list: l + [-.infinity, -.infinity]))), [3, 4])
    }

    func testTopNSigmaDenseMatchesDirectFormulaOnLargeVocabulary() {
        let x = gaussianLogits(count: 100_000, seed: 11, scale: 2)
        let n: Float = 2.5
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        let sigma = (x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)).squareRoot()
        let cut = Double(x.max()!) - Double(n) * sigma
        // Tokens within 1e-4 of the cut could go either way with Float rounding: none expected here.
        XCTAssertFalse(x.contains { abs(Double($0) - cut) < 1e-4 })
        let expected = Set(x.enumerated().filter { Double($0.element) >= cut }.map { Int32($0.offset) })
        XCTAssertGreaterThan(expected.count, 10)
        XCTAssertEqual(Set(ids(runDense(TopNSigmaSampler(n: n), logits: x))), expected)
        XCTAssertEqual(Set(ids(runList(TopNSigmaSampler(n: n), list: x))), expected)
    }

    // MARK: DRY

    func dry(_ history: [Int32], vocab: Int = 10, multiplier: Float = 0.8, base: Float = 1.75, allowed: Int = 2,
             window: Int = 100, breakers: [(head: Int32, tail: [Int32])] = []) -> [Float] {
        let d = DRYSampler(vocabularySize: vocab, multiplier: multiplier, base: base, allowedLength: allowed,
                           window: window, breakers: breakers)
        for t in history { d.accept(t) }
        return denseArray(runDense(d, logits: [Float](repeating: 0, count: vocab)))
    }

    func testDRYPenalisesExactlyTheTokenContinuingARepeat() {
        // "1 2 3" was followed by 4; the context ends in "1 2 3" again → 4 would make a repeat of
        // length 3: penalty 0.8 · 1.75^(3−2) = 1.4, nothing else.
        var expected = [Float](repeating: 0, count: 10)
        expected[4] = -1.4
        assertClose(dry([1, 2, 3, 4, 9, 1, 2, 3]), expected)
        // Length 4 → 0.8 · 1.75² = 2.45.
        expected = [Float](repeating: 0, count: 10)
        expected[9] = -2.45
        assertClose(dry([5, 6, 7, 8, 9, 5, 6, 7, 8]), expected)
    }

    func testDRYAllowedLengthAndWindow() {
        // "1 2" then 4, ending in "1 2": length 2 = allowed → 0.8 · 1.75⁰; allowed 3 → nothing.
        var expected = [Float](repeating: 0, count: 10)
        expected[4] = -0.8
        assertClose(dry([1, 2, 4, 1, 2], allowed: 2), expected)
        XCTAssertEqual(dry([1, 2, 4, 1, 2], allowed: 3), [Float](repeating: 0, count: 10))
        // A window of 4 sees only "9 1 2 3": no repeat.
        XCTAssertEqual(dry([1, 2, 3, 4, 9, 1, 2, 3], window: 4), [Float](repeating: 0, count: 10))
        // Multiplier 0 or base below 1 disable it.
        XCTAssertEqual(dry([1, 2, 3, 4, 9, 1, 2, 3], multiplier: 0), [Float](repeating: 0, count: 10))
        XCTAssertFalse(DRYSampler.isActive(multiplier: 1, base: 0.9, window: 10))
    }

    func testDRYSequenceBreakersCutMatches() {
        let history: [Int32] = [1, 2, 3, 4, 9, 1, 2, 3]
        // Breaker "2" one token back: repeats are limited to 1 < allowed → no penalty.
        XCTAssertEqual(dry(history, breakers: [(2, [])]), [Float](repeating: 0, count: 10))
        // Breaker "1" two back: the match "1 2 3" counts as 2 → 0.8 · 1.75⁰.
        var expected = [Float](repeating: 0, count: 10)
        expected[4] = -0.8
        assertClose(dry(history, breakers: [(1, [])]), expected)
        // Two-token breaker "9 1": complete at 3 back (head 9, then 1) → limit 2 → same.
        assertClose(dry(history, breakers: [(9, [1])]), expected)
        // "9 2" is not in the context: no effect, full penalty.
        expected[4] = -1.4
        assertClose(dry(history, breakers: [(9, [2])]), expected)
        // A token that is itself a breaker is never penalised: "1 2 7 1 2" would punish 7.
        var seven = [Float](repeating: 0, count: 10)
        seven[7] = -0.8
        assertClose(dry([1, 2, 7, 1, 2]), seven)
        XCTAssertEqual(dry([1, 2, 7, 1, 2], breakers: [(7, [])]), [Float](repeating: 0, count: 10))
    }

    func testDRYExponentIsCapped() {
        // base 1e10: the exponent is capped at ⌊88.72 / ln 1e10⌋ = 3; the repeat "1…7" has length 7.
        let history: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 6, 7]
        let out = dry(history, multiplier: 1, base: 1e10)
        XCTAssertEqual(out[8], -1e30, accuracy: 1e24)
        XCTAssertTrue(out.allSatisfy { $0.isFinite })
    }

    func testDRYMatchesBruteForceOnRandomHistories() {
        var rng = SamplingRandomGenerator(seed: 5)
        for trial in 0..<200 {
            let n = 2 + Int(rng.next() % 80)
            let alphabet = 2 + Int(rng.next() % 4)
            let history = (0..<n).map { _ in Int32(rng.next() % UInt64(alphabet)) }
            let allowed = Int(rng.next() % 4)
            let window = 1 + Int(rng.next() % 90)
            let got = dry(history, vocab: 8, multiplier: 0.5, base: 1.5, allowed: allowed, window: window)
            // Brute force: newest-first window r; a match at offset k has length L = longest prefix of
            // r equal to r[k…]; the token r[k−1] follows it; keep the longest L ≥ allowed per token.
            let r = Array(history.suffix(window).reversed())
            var best = [Int](repeating: -1, count: 8)
            if r.count > allowed {
                for k in 1..<r.count {
                    var l = 0
                    while k + l < r.count && r[l] == r[k + l] { l += 1 }
                    if l >= allowed { best[Int(r[k - 1])] = max(best[Int(r[k - 1])], l) }
                }
            }
            let expected = best.map { $0 < 0 ? Float(0) : -0.5 * powf(1.5, Float($0 - allowed)) }
            assertClose(got, expected, accuracy: 1e-4)
            if zip(got, expected).contains(where: { abs($0 - $1) > 1e-4 }) { XCTFail("trial \(trial): \(history)") }
        }
    }

    func testDRYOnAListOnlyTouchesListedCandidates() {
        let d = DRYSampler(vocabularySize: 10, multiplier: 0.8, base: 1.75, allowedLength: 2, window: 100, breakers: [])
        for t: Int32 in [1, 2, 3, 4, 9, 1, 2, 3] { d.accept(t) }
        let c = runList(d, list: [0, 0, 0, 0, 0, 0])  // tokens 0…5
        c.materialize()
        XCTAssertEqual((0..<c.count).map { c[$0].logit }, [0, 0, 0, 0, -1.4, 0].map { Float($0) })
        // reset forgets the history.
        d.reset()
        XCTAssertEqual(d.history, [])
    }

    func testBreakerSequencesFollowLlamaCpp() {
        // Vocabulary pieces; "\n" is inside tokens 1 and 2; token 4 "ab" ends with the start of "bc".
        let pieces = ["a", "\n", "b\n", "x:", "ab", "c"].map { Array($0.utf8) }
        let tokenize: (String) -> [Int32] = { s in s == "c" ? [5] : [] }
        let out = DRYSampler.breakerSequences(["\n", "bc", ""], vocabularySize: 6, tokenize: tokenize) { id, body in
            pieces[Int(id)].withUnsafeBufferPointer { body($0) }
        }
        let pairs = Set(out.map { "\($0.head):\($0.tail)" })
        XCTAssertEqual(pairs, ["1:[]", "2:[]", "4:[5]"])
        // Without pieces: the breaker's own tokens; breakers are cut to 40 bytes.
        var seen: [String] = []
        let plain = DRYSampler.breakerSequences([String(repeating: "z", count: 100), "q"], vocabularySize: 6,
                                                tokenize: { seen.append($0); return $0 == "q" ? [3, 4] : [1] },
                                                piece: nil)
        XCTAssertEqual(seen.first?.utf8.count, 40)
        XCTAssertEqual(plain.map(\.head), [1, 3])
        XCTAssertEqual(plain.map(\.tail), [[], [4]])
    }

    // MARK: In the chain

    func chain(vocab: Int = 10, _ edit: (inout SamplingParameters) -> Void) throws -> SamplerChain {
        var p = SamplingParameters()
        p.repeatLastN = 0
        p.seed = 7
        edit(&p)
        return try SamplerChain(parameters: p, vocabulary: VocabularyInfo(size: vocab), contextSize: 64,
                                tokenize: { _ in [] })
    }

    func testChainPlacesTheNewSamplersInDefaultOrder() throws {
        let c = try chain { $0.dryMultiplier = 1; $0.topNSigma = 1; $0.xtcProbability = 0.5 }
        XCTAssertEqual(c.stageNames, ["dry", "top_n_sigma", "top_k", "tfs_z", "typical_p", "top_p", "min_p", "xtc", "temperature", "dist"])
        // Disabled ones add no stage; a list without them leaves them out.
        XCTAssertEqual(try chain { _ in }.stageNames, ["top_k", "tfs_z", "typical_p", "top_p", "min_p", "temperature", "dist"])
        XCTAssertEqual(try chain { $0.dryMultiplier = 1; $0.samplers = ["temperature"] }.stageNames, ["temperature", "dist"])
        // Greedy keeps DRY (it changes the argmax), mirostat does not (as llama.cpp).
        XCTAssertEqual(try chain { $0.dryMultiplier = 1; $0.temperature = 0 }.stageNames, ["dry", "greedy"])
        XCTAssertEqual(try chain { $0.dryMultiplier = 1; $0.mirostat = 2 }.stageNames, ["temperature", "mirostat_v2"])
        // Listing dry twice builds it once.
        XCTAssertEqual(try chain { $0.dryMultiplier = 1; $0.samplers = ["dry", "dry", "temperature"] }.stageNames, ["dry", "temperature", "dist"])
    }

    func testDRYInTheChainSeesThePromptAndChangesGreedy() throws {
        var logits = [Float](repeating: 0, count: 10)
        logits[4] = 1  // token 4 is the argmax
        let plain = try chain { $0.temperature = 0 }
        plain.acceptPrompt([1, 2, 3, 4, 9, 1, 2, 3] as [Int32])
        XCTAssertEqual(plain.sample(logits: logits).token, 4)
        let c = try chain { $0.temperature = 0; $0.dryMultiplier = 0.8 }
        c.acceptPrompt([1, 2, 3, 4, 9, 1, 2, 3] as [Int32])
        // 1 − 1.4 < 0: token 4 loses to token 0.
        XCTAssertEqual(c.sample(logits: logits).token, 0)
        // Generated tokens extend the history: after accepting 5, "… 3 5" has no earlier occurrence.
        c.accept(5)
        XCTAssertEqual(c.sample(logits: logits).token, 4)
    }

    func testXTCAndTopNSigmaInTheChain() throws {
        let l = logits(fromProbabilities: [0.05, 0.4, 0.3, 0.2, 0.05])
        // XTC p = 1, threshold 0.15 over top_k 3 ⇒ {1, 2, 3} → only token 3 is left, every time.
        let x = try chain(vocab: 5) { $0.xtcProbability = 1; $0.xtcThreshold = 0.15; $0.topK = 3; $0.topP = 1; $0.minP = 0; $0.temperature = 1 }
        for _ in 0..<50 { XCTAssertEqual(x.sample(logits: l).token, 3) }
        // Top-n-sigma with a tiny n at a high temperature is greedy.
        let s = try chain(vocab: 5) { $0.topNSigma = 1e-6; $0.topK = 0; $0.topP = 1; $0.minP = 0; $0.temperature = 5 }
        for _ in 0..<50 { XCTAssertEqual(s.sample(logits: l).token, 1) }
        let hot = try chain(vocab: 5) { $0.topK = 0; $0.topP = 1; $0.minP = 0; $0.temperature = 5 }
        XCTAssertNotEqual(Set((0..<50).map { _ in hot.sample(logits: l).token }), [1])
    }

    // MARK: Parameters

    func testNewParameterDefaultsAndValidation() {
        let p = SamplingParameters()
        XCTAssertEqual(p.topNSigma, -1)
        XCTAssertEqual(p.xtcProbability, 0)
        XCTAssertEqual(p.xtcThreshold, 0.1)
        XCTAssertEqual(p.dryMultiplier, 0)
        XCTAssertEqual(p.dryBase, 1.75)
        XCTAssertEqual(p.dryAllowedLength, 2)
        XCTAssertEqual(p.dryPenaltyLastN, -1)
        XCTAssertEqual(p.drySequenceBreakers, ["\n", ":", "\"", "*"])
        func rejects(_ field: String, _ edit: (inout SamplingParameters) -> Void, line: UInt = #line) {
            var q = SamplingParameters()
            edit(&q)
            XCTAssertThrowsError(try q.validate(), line: line) { XCTAssertEqual(($0 as? SamplingParameterError)?.field, field, line: line) }
        }
        rejects("xtc_probability") { $0.xtcProbability = 1.5 }
        rejects("xtc_probability") { $0.xtcProbability = -0.1 }
        rejects("xtc_threshold") { $0.xtcThreshold = 1.01 }
        rejects("top_n_sigma") { $0.topNSigma = .infinity }
        rejects("dry_multiplier") { $0.dryMultiplier = -1 }
        rejects("dry_base") { $0.dryBase = 0.5 }
        rejects("dry_allowed_length") { $0.dryAllowedLength = -1 }
        rejects("dry_penalty_last_n") { $0.dryPenaltyLastN = -2 }
        rejects("dry_sequence_breakers") { $0.drySequenceBreakers = Array(repeating: "x", count: 65) }
    }

    func testSamplerNamesAsLlamaServerAcceptsThem() throws {
        XCTAssertEqual(SamplerKind(name: "typ_p"), .typicalP)
        XCTAssertEqual(SamplerKind(name: "Top-K"), .topK)
        XCTAssertEqual(SamplerKind(name: "topnsigma"), .topNSigma)
        XCTAssertEqual(SamplerKind(name: "top-n-sigma"), .topNSigma)
        XCTAssertEqual(SamplerKind(name: "nucleus"), .topP)
        XCTAssertEqual(SamplerKind(name: "temp"), .temperature)
        XCTAssertEqual(SamplerKind(name: "XTC"), .xtc)
        XCTAssertNil(SamplerKind(name: "bogus"))
        var p = SamplingParameters()
        p.samplers = ["penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"]
        XCTAssertEqual(try p.samplerKinds(), [.dry, .topNSigma, .topK, .typicalP, .topP, .minP, .xtc, .temperature])
        XCTAssertEqual(SamplerKind.parse(sequence: "dskypmxt"), [.dry, .topNSigma, .topK, .typicalP, .topP, .minP, .xtc, .temperature])
    }
}
