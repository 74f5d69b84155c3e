import XCTest
@testable import Sampling

final class PenaltyAndBiasTests: XCTestCase {
    func makePenalties(window: Int = 64, newline: Int32? = nil, penalizeNewline: Bool = true) -> PenaltiesSampler {
        PenaltiesSampler(vocabularySize: 5, window: window, repeatPenalty: 2, frequencyPenalty: 0.5,
                         presencePenalty: 0.25, newlineToken: newline, penalizeNewline: penalizeNewline)
    }

    func testPenaltiesHitOnlySeenTokensWithCounts() {
        let p = makePenalties()
        for t: Int32 in [2, 2, 3] { p.accept(t) }
        let c = runDense(p, logits: [1, 1, 2, -1, 0.5])
        // token 2 (count 2, positive): 2 / 2 − (2·0.5 + 0.25) = −0.25
        // token 3 (count 1, negative): −1 · 2 − (0.5 + 0.25) = −2.75
        XCTAssertEqual(denseArray(c), [1, 1, -0.25, -2.75, 0.5])
        // Same result on a list.
        let l = runList(p, list: [1, 1, 2, -1, 0.5])
        XCTAssertEqual((0..<5).map { l[$0].logit }, [1, 1, -0.25, -2.75, 0.5])
    }

    func testPenaltyWindowSlides() {
        let p = makePenalties(window: 2)
        for t: Int32 in [2, 2, 3] { p.accept(t) }   // window now [2, 3]
        XCTAssertEqual(p.history, [2, 3])
        XCTAssertEqual(p.count(of: 2), 1)
        let c = runDense(p, logits: [1, 1, 2, -1, 0.5])
        XCTAssertEqual(denseArray(c), [1, 1, 2 / 2 - 0.75, -2.75, 0.5])
        p.reset()
        XCTAssertEqual(p.history, [])
        XCTAssertEqual(denseArray(runDense(p, logits: [1, 1, 2, -1, 0.5])), [1, 1, 2, -1, 0.5])
    }

    func testPenalizeNewlineFalseLeavesNewlineAlone() {
        let p = makePenalties(newline: 4, penalizeNewline: false)
        for t: Int32 in [4, 1] { p.accept(t) }
        XCTAssertEqual(denseArray(runDense(p, logits: [1, 1, 1, 1, 1])), [1, 1 / 2 - 0.75, 1, 1, 1])
        let q = makePenalties(newline: 4, penalizeNewline: true)
        for t: Int32 in [4, 1] { q.accept(t) }
        XCTAssertEqual(denseArray(runDense(q, logits: [1, 1, 1, 1, 1])), [1, -0.25, 1, 1, -0.25])
    }

    func testLogitBiasTokensTextsAndBans() {
        let entries = [
            LogitBiasEntry(.token(1), .add(1.5)),
            LogitBiasEntry(.token(0), .ban),
            LogitBiasEntry(.text("hi"), .add(-1)),
            LogitBiasEntry(.token(99), .add(3)),   // out of range: dropped
        ]
        let s = LogitBiasSampler(entries: entries, vocabularySize: 5, tokenize: { text in
            XCTAssertEqual(text, "hi")
            return [3, 4]
        })
        let c = runDense(s, logits: [0, 0, 0, 0, 0])
        XCTAssertEqual(denseArray(c), [-.infinity, 1.5, 0, -1, -1])
    }

    func testPenaltiesThroughChainWithPromptAndPenaltyPrompt() throws {
        var params = SamplingParameters()
        params.temperature = 0   // greedy
        params.repeatPenalty = 10
        let vocab = VocabularyInfo(size: 4)
        // Token 0 has the largest logit but appears in the prompt → penalised below token 1.
        let chain = try SamplerChain(parameters: params, vocabulary: vocab, contextSize: 128)
        chain.acceptPrompt([0, 0])
        XCTAssertEqual(chain.sample(logits: [3, 2, 0, 0]).token, 1)
        // With penalty_prompt the prompt is replaced: token 2 is penalised instead, token 0 wins.
        params.penaltyPrompt = .tokens([2])
        let chain2 = try SamplerChain(parameters: params, vocabulary: vocab, contextSize: 128)
        chain2.acceptPrompt([0, 0])
        XCTAssertEqual(chain2.sample(logits: [3, 2, 2.5, 0]).token, 0)
        XCTAssertEqual(chain2.sample(logits: [1, 0.5, 2.5, 0]).token, 0)   // 2.5/10 < 1
        // Emitted tokens join the history.
        chain2.accept(0)
        XCTAssertEqual(chain2.sample(logits: [3, 2, 0, 0]).token, 1)
    }

    func testIgnoreEosBansAllEosTokens() throws {
        var params = SamplingParameters()
        params.temperature = 0
        params.ignoreEos = true
        let vocab = VocabularyInfo(size: 4, eosTokens: [2, 3])
        let chain = try SamplerChain(parameters: params, vocabulary: vocab, contextSize: 16)
        XCTAssertEqual(chain.sample(logits: [0, 1, 9, 8]).token, 1)
        params.ignoreEos = false
        let chain2 = try SamplerChain(parameters: params, vocabulary: vocab, contextSize: 16)
        XCTAssertEqual(chain2.sample(logits: [0, 1, 9, 8]).token, 2)
    }
}
