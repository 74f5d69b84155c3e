import XCTest
@testable import Sampling

final class ParameterTests: XCTestCase {
    func testDefaultsMatchSpec() {
        let p = SamplingParameters()
        XCTAssertEqual(p.temperature, 0.8)
        XCTAssertEqual(p.dynatempRange, 0)
        XCTAssertEqual(p.dynatempExponent, 1)
        XCTAssertEqual(p.topK, 40)
        XCTAssertEqual(p.topP, 0.95)
        XCTAssertEqual(p.minP, 0.05)
        XCTAssertEqual(p.nPredict, -1)
        XCTAssertEqual(p.tfsZ, 1)
        XCTAssertEqual(p.typicalP, 1)
        XCTAssertEqual(p.repeatPenalty, 1.1)
        XCTAssertEqual(p.repeatLastN, 64)
        XCTAssertTrue(p.penalizeNl)
        XCTAssertEqual(p.presencePenalty, 0)
        XCTAssertEqual(p.frequencyPenalty, 0)
        XCTAssertNil(p.penaltyPrompt)
        XCTAssertEqual(p.mirostat, 0)
        XCTAssertEqual(p.mirostatTau, 5)
        XCTAssertEqual(p.mirostatEta, 0.1)
        XCTAssertEqual(p.seed, -1)
        XCTAssertFalse(p.ignoreEos)
        XCTAssertEqual(p.logitBias, [])
        XCTAssertEqual(p.nProbs, 0)
        XCTAssertEqual(p.minKeep, 0)
        XCTAssertEqual(p.samplers, ["dry", "top_n_sigma", "top_k", "tfs_z", "typical_p", "top_p", "min_p", "xtc", "temperature"])
        XCTAssertNoThrow(try p.validate(vocabularySize: 10))
    }

    func expectError(_ field: String, file: StaticString = #filePath, line: UInt = #line,
                     _ edit: (inout SamplingParameters) -> Void) {
        var p = SamplingParameters()
        edit(&p)
        do {
            try p.validate(vocabularySize: 100)
            XCTFail("expected a validation error for \(field)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.field, field, file: file, line: line)
        }
    }

    func testValidationErrorsNameTheField() {
        expectError("temperature") { $0.temperature = .nan }
        expectError("top_p") { $0.topP = -0.1 }
        expectError("min_p") { $0.minP = .infinity }
        expectError("tfs_z") { $0.tfsZ = .nan }
        expectError("typical_p") { $0.typicalP = -1 }
        expectError("dynatemp_range") { $0.dynatempRange = -0.5 }
        expectError("dynatemp_exponent") { $0.dynatempExponent = .nan }
        expectError("repeat_penalty") { $0.repeatPenalty = 0 }
        expectError("repeat_penalty") { $0.repeatPenalty = -1 }
        expectError("repeat_last_n") { $0.repeatLastN = -2 }
        expectError("presence_penalty") { $0.presencePenalty = .nan }
        expectError("frequency_penalty") { $0.frequencyPenalty = -.infinity }
        expectError("mirostat") { $0.mirostat = 3 }
        expectError("mirostat_tau") { $0.mirostatTau = -1 }
        expectError("mirostat_eta") { $0.mirostatEta = .nan }
        expectError("seed") { $0.seed = -2 }
        expectError("n_probs") { $0.nProbs = -1 }
        expectError("min_keep") { $0.minKeep = -3 }
        expectError("n_predict") { $0.nPredict = -5 }
        expectError("samplers") { $0.samplers = ["top_k", "top_kk"] }
        expectError("logit_bias") { $0.logitBias = [LogitBiasEntry(.token(100), .add(1))] }
        expectError("logit_bias") { $0.logitBias = [LogitBiasEntry(.token(-1), .ban)] }
        expectError("logit_bias") { $0.logitBias = [LogitBiasEntry(.token(5), .add(.nan))] }
        expectError("penalty_prompt") { $0.penaltyPrompt = .tokens([1, 200]) }
    }

    func testValidValuesPass() throws {
        var p = SamplingParameters()
        p.temperature = -1      // greedy
        p.topK = 0
        p.repeatLastN = -1
        p.seed = 0xFFFF_FFFF
        p.logitBias = [LogitBiasEntry(.token(99), .ban), LogitBiasEntry(.text("x"), .add(-2))]
        p.samplers = ["temperature", "top_k", "temperature"]
        p.penaltyPrompt = .text("abc")
        try p.validate(vocabularySize: 100)
        try p.validate()   // no vocabulary: ids are only checked for sign
    }

    func testUnknownSamplerErrorAndChainInitThrows() {
        var p = SamplingParameters()
        p.samplers = ["nucleus-x"]
        XCTAssertThrowsError(try p.validate()) { error in
            XCTAssertEqual(error as? SamplingParameterError, .unknownSampler(name: "nucleus-x"))
        }
        XCTAssertThrowsError(try SamplerChain(parameters: p, vocabulary: VocabularyInfo(size: 4), contextSize: 8))
    }

    func testSamplerSequenceLetters() {
        XCTAssertEqual(SamplerKind.parse(sequence: "dskfypmxt"), SamplerKind.defaultOrder)
        XCTAssertEqual(SamplerKind.parse(sequence: "tk"), [.temperature, .topK])
        XCTAssertNil(SamplerKind.parse(sequence: "kq"))
    }
}
