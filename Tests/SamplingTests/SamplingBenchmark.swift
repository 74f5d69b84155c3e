import Foundation
import XCTest
@testable import Sampling

/// Prints the per-token cost of sampling on a 262,144-token vocabulary (does not assert speed).
/// Run in release: swift test -c release --scratch-path .build-sampling-rel --filter SamplingBenchmark
final class SamplingBenchmark: XCTestCase {
    func measure(_ label: String, releaseIterations: Int = 300, _ edit: (inout SamplingParameters) -> Void) throws {
        #if DEBUG
        let iterations = 3
        #else
        let iterations = releaseIterations
        #endif
        let vocabSize = 262_144
        var params = SamplingParameters()
        params.seed = 1
        edit(&params)
        let chain = try SamplerChain(parameters: params, vocabulary: VocabularyInfo(size: vocabSize, eosTokens: [1], newlineToken: 10),
                                     contextSize: 8192)
        // A few distinct gaussian logit vectors so branch predictors and caches don't see one input.
        let inputs = (0..<8).map { gaussianLogits(count: vocabSize, seed: UInt64($0 + 1), scale: 2.5) }
        chain.acceptPrompt((0..<64).map { Int32($0 * 97) })
        var seen = Set<Int32>()
        for i in 0..<5 { let t = chain.sample(logits: inputs[i % 8]).token; chain.accept(t) }   // warm-up
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<iterations {
            let r = chain.sample(logits: inputs[i % 8])
            chain.accept(r.token)
            seen.insert(r.token)
        }
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations)
        print(String(format: "SamplingBenchmark %@: %.4f ms/token over %d tokens (vocab %d)", label, ns / 1e6, iterations, vocabSize))
        XCTAssertFalse(seen.isEmpty)
    }

    func testDefaultChain() throws {
        try measure("default chain (top_k 40 → … → dist, penalties 64)", releaseIterations: 3000) { _ in }
    }

    func testDefaultChainWithNProbs() throws {
        try measure("default chain + n_probs 10") { $0.nProbs = 10 }
    }

    func testGreedy() throws {
        try measure("greedy (temperature 0)") { $0.temperature = 0 }
    }

    func testNoTopK() throws {
        try measure("top_k 0, top_p 0.95, min_p 0.05") { $0.topK = 0 }
    }

    func testNoTopKMinPFirst() throws {
        try measure("top_k 0, samplers [min_p, top_p, temperature]") {
            $0.topK = 0; $0.samplers = ["min_p", "top_p", "temperature"]
        }
    }
}
