import Foundation
@testable import Sampling
import Serving
import Testing
@testable import Server

/// Response bodies have llama-server's and OpenAI's shapes.
struct ResponseShapeTests {
    func json(_ value: some Encodable) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: JSONResponse.encode(value)) as! [String: Any]
    }

    @Test func errorBodyIsOpenAIShaped() throws {
        let body = try json(APIError.invalidAPIKey.body)
        let error = body["error"] as! [String: Any]
        #expect(error["code"] as? Int == 401)
        #expect(error["message"] as? String == "Invalid API Key")
        #expect(error["type"] as? String == "authentication_error")
    }

    @Test func engineErrorsMapToStatus() {
        #expect(APIError.from(.promptTooLong(tokens: 9, contextSize: 8)).status == .badRequest)
        #expect(APIError.from(.invalidSlot(4, slotCount: 1)).status == .badRequest)
        #expect(APIError.from(.modelFailure("x")).status == .internalServerError)
        #expect(APIError.from(.embeddingsDisabled).status == .notImplemented)
    }

    @Test func streamingChunkHasNullFinishReason() throws {
        let chunk = ChatChunkChoiceJSON(delta: ChatDeltaJSON(content: "a"), finish_reason: nil)
        let object = try json(chunk)
        #expect(object["finish_reason"] is NSNull)
        #expect((object["delta"] as! [String: Any])["content"] as? String == "a")
    }

    @Test func metricsUsePrometheusTextFormat() {
        var counters = EngineCounters()
        counters.promptTokens = 10
        counters.promptSeconds = 2
        let text = MetricsController.render(EngineMetrics(counters: counters, cacheTokens: 5, cacheUsage: 0.5,
                                                          processing: 1, deferred: 2))
        #expect(text.contains("# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total 10.0\n"))
        #expect(text.contains("llamacpp:prompt_tokens_seconds 5.0"))
        #expect(text.contains("llamacpp:requests_deferred 2.0"))
        #expect(text.contains("llamacpp:kv_cache_usage_ratio 0.5"))
    }

    @Test func slotFileNamesCannotEscapeTheFolder() {
        #expect(SlotsController.isValidFilename("slot.bin"))
        for bad in ["", "../x", "a/b", "..", ".", "a\\b"] { #expect(!SlotsController.isValidFilename(bad)) }
    }

    @Test func base64EmbeddingsAreLittleEndianFloat32() throws {
        let vector = EmbeddingController.Vector([1.5, -2, 0.25], base64: true)
        guard case .base64(let text) = vector else { Issue.record("not base64"); return }
        let bytes = try #require(Data(base64Encoded: text))
        let floats = bytes.withUnsafeBytes { raw in
            (0..<raw.count / 4).map { i -> Float in
                let bits = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                return Float(bitPattern: UInt32(littleEndian: bits))
            }
        }
        #expect(floats == [1.5, -2, 0.25])
    }

    @Test func probabilityListsAreFilledToNProbs() throws {
        func p(_ t: Int32, _ v: Float) -> TokenProbability { TokenProbability(token: t, probability: v, logprob: logf(v)) }
        // Two candidates survived the samplers; n_probs was 3, so the raw list has 3 entries.
        let report = TokenProbabilities(token: 5, selectedPreSampling: p(5, 0.5), selectedPostSampling: p(5, 0.8),
                                        preSampling: [p(5, 0.5), p(9, 0.3), p(7, 0.1)],
                                        postSampling: [p(5, 0.8), p(7, 0.2)])
        let entry = TokenProbabilitiesJSON(report) { "t\($0)" }
        #expect(entry.content == "t5")
        #expect(entry.probs.map { $0.tok_str } == ["t5", "t7", "t9"] && entry.probs.map { $0.prob } == [0.8, 0.2, 0])
    }

    @Test func embeddingsAreL2Normalized() {
        #expect(EmbeddingController.normalized([3, 4]) == [0.6, 0.8])
        #expect(EmbeddingController.normalized([0, 0]) == [0, 0])
    }
}
