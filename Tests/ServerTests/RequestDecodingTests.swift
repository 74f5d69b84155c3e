import Grammar
import Sampling
import Testing
@testable import Server

/// Request bodies decode into typed options, and every bad field is a 400 naming the field.
struct RequestDecodingTests {
    func fields(_ json: String) throws -> JSONFields { try JSONFields(body: Array(json.utf8)) }

    func options(_ json: String) throws -> CompletionOptions { try CompletionOptions(fields(json), vocabularySize: 1000) }

    func expectBadRequest(_ json: String, mentioning word: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try options(json)
            Issue.record("expected a 400 for \(json)", sourceLocation: sourceLocation)
        } catch let error as APIError {
            #expect(error.status == .badRequest, sourceLocation: sourceLocation)
            #expect(error.kind == .invalidRequest, sourceLocation: sourceLocation)
            #expect(error.message.contains(word), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func defaultsFollowTheSpec() throws {
        let o = try options(#"{"prompt": "x"}"#)
        #expect(o.sampling == SamplingParameters())
        #expect(o.predictLimit == -1 && o.keepCount == nil && o.stopStrings.isEmpty)
        #expect(!o.stream && !o.cachePrompt && o.slotID == nil && o.grammar == nil)
    }

    @Test func readsEveryOption() throws {
        let o = try options("""
        {"temperature": 0.5, "dynatemp_range": 0.1, "dynatemp_exponent": 2, "top_k": 5, "top_p": 0.9, "min_p": 0.1,
         "n_predict": 16, "n_keep": -1, "stream": true, "stop": ["a", "b"], "tfs_z": 0.9, "typical_p": 0.8,
         "repeat_penalty": 1.2, "repeat_last_n": -1, "penalize_nl": false, "presence_penalty": 0.3,
         "frequency_penalty": 0.4, "penalty_prompt": [1, 2], "mirostat": 2, "mirostat_tau": 4, "mirostat_eta": 0.2,
         "seed": 42, "ignore_eos": true, "logit_bias": [[15, 1.5], [16, false], ["hi", -1]], "n_probs": 3,
         "min_keep": 2, "id_slot": 1, "cache_prompt": true, "samplers": ["top_k", "temperature"]}
        """)
        let p = o.sampling
        #expect(p.temperature == 0.5 && p.dynatempRange == 0.1 && p.dynatempExponent == 2 && p.topK == 5)
        #expect(p.topP == 0.9 && p.minP == 0.1 && p.tfsZ == 0.9 && p.typicalP == 0.8 && p.repeatPenalty == 1.2)
        #expect(p.repeatLastN == -1 && !p.penalizeNl && p.presencePenalty == 0.3 && p.frequencyPenalty == 0.4)
        #expect(p.penaltyPrompt == .tokens([1, 2]) && p.mirostat == 2 && p.mirostatTau == 4 && p.mirostatEta == 0.2)
        #expect(p.seed == 42 && p.ignoreEos && p.nProbs == 3 && p.minKeep == 2 && p.samplers == ["top_k", "temperature"])
        #expect(p.logitBias == [LogitBiasEntry(.token(15), .add(1.5)), LogitBiasEntry(.token(16), .ban),
                                LogitBiasEntry(.text("hi"), .add(-1))])
        #expect(o.predictLimit == 16 && o.keepCount == -1 && o.stream && o.stopStrings == ["a", "b"])
        #expect(o.slotID == 1 && o.cachePrompt)
    }

    @Test func readsTheDRYXTCAndTopNSigmaOptions() throws {
        let p = try options(#"""
        {"top_n_sigma": 1.5, "xtc_probability": 0.5, "xtc_threshold": 0.2, "dry_multiplier": 0.8, "dry_base": 2,
         "dry_allowed_length": 3, "dry_penalty_last_n": 128, "dry_sequence_breakers": ["\n", "###"],
         "samplers": ["penalties", "dry", "typ_p", "xtc", "temperature"]}
        """#).sampling
        #expect(p.topNSigma == 1.5 && p.xtcProbability == 0.5 && p.xtcThreshold == 0.2)
        #expect(p.dryMultiplier == 0.8 && p.dryBase == 2 && p.dryAllowedLength == 3 && p.dryPenaltyLastN == 128)
        #expect(p.drySequenceBreakers == ["\n", "###"])
        #expect(try p.samplerKinds() == [.dry, .typicalP, .xtc, .temperature])
        // A string of letters, as today's llama-server; a single name still reads as that name.
        #expect(try options(#"{"samplers": "dskxt"}"#).sampling.samplers == ["dry", "top_n_sigma", "top_k", "xtc", "temperature"])
        #expect(try options(#"{"samplers": "top_k"}"#).sampling.samplers == ["top_k"])
        // llama-server replaces a base below 1 by the default; -1 means the whole context.
        #expect(try options(#"{"dry_base": 0.5, "dry_penalty_last_n": -1}"#).sampling.dryBase == 1.75)
        expectBadRequest(#"{"xtc_probability": 1.5}"#, mentioning: "xtc_probability")
        expectBadRequest(#"{"xtc_probability": -0.5}"#, mentioning: "xtc_probability")
        expectBadRequest(#"{"xtc_threshold": 2}"#, mentioning: "xtc_threshold")
        expectBadRequest(#"{"top_n_sigma": 1e300}"#, mentioning: "top_n_sigma")
        expectBadRequest(#"{"dry_multiplier": -1}"#, mentioning: "dry_multiplier")
        expectBadRequest(#"{"dry_multiplier": 1e39}"#, mentioning: "dry_multiplier")
        expectBadRequest(#"{"dry_allowed_length": -1}"#, mentioning: "dry_allowed_length")
        expectBadRequest(#"{"dry_allowed_length": 1e10}"#, mentioning: "dry_allowed_length")
        expectBadRequest(#"{"dry_penalty_last_n": -2}"#, mentioning: "dry_penalty_last_n")
        expectBadRequest(#"{"dry_penalty_last_n": 4294967296}"#, mentioning: "dry_penalty_last_n")
        expectBadRequest(#"{"dry_sequence_breakers": []}"#, mentioning: "dry_sequence_breakers")
        expectBadRequest(#"{"dry_sequence_breakers": "\n"}"#, mentioning: "dry_sequence_breakers")
        expectBadRequest(#"{"dry_sequence_breakers": [1]}"#, mentioning: "dry_sequence_breakers")
        let many = "[" + Array(repeating: "\"x\"", count: 100_000).joined(separator: ",") + "]"
        expectBadRequest(#"{"dry_sequence_breakers": "# + many + "}", mentioning: "dry_sequence_breakers")
    }

    @Test func openAIStyleLogitBiasObject() throws {
        let o = try options(#"{"logit_bias": {"15": 2, "17": -100}}"#)
        #expect(o.sampling.logitBias == [LogitBiasEntry(.token(15), .add(2)), LogitBiasEntry(.token(17), .add(-100))])
    }

    @Test func wrongTypesNameTheField() {
        expectBadRequest(#"{"n_predict": "8"}"#, mentioning: "n_predict")
        expectBadRequest(#"{"n_predict": 1.5}"#, mentioning: "n_predict")
        expectBadRequest(#"{"temperature": "hot"}"#, mentioning: "temperature")
        expectBadRequest(#"{"stream": 1}"#, mentioning: "stream")
        expectBadRequest(#"{"stop": [1]}"#, mentioning: "stop")
        expectBadRequest(#"{"logit_bias": [[1]]}"#, mentioning: "logit_bias")
        expectBadRequest(#"{"penalty_prompt": {}}"#, mentioning: "penalty_prompt")
        expectBadRequest(#"{"system_prompt": "x"}"#, mentioning: "system_prompt")
    }

    @Test func outOfRangeValuesAreRejected() {
        expectBadRequest(#"{"n_predict": -2}"#, mentioning: "n_predict")
        expectBadRequest(#"{"n_keep": -3}"#, mentioning: "n_keep")
        expectBadRequest(#"{"n_probs": 5000}"#, mentioning: "n_probs")
        expectBadRequest(#"{"top_p": -0.5}"#, mentioning: "top_p")
        expectBadRequest(#"{"mirostat": 7}"#, mentioning: "mirostat")
        expectBadRequest(#"{"logit_bias": [[5000, 1]]}"#, mentioning: "logit_bias")
        expectBadRequest(#"{"samplers": ["nope"]}"#, mentioning: "nope")
        expectBadRequest(#"{"image_data": [{"data": "", "id": 1}]}"#, mentioning: "image_data")
    }

    @Test func malformedBodies() {
        for body in ["{", "[1, 2]", "\"text\"", "", "{\"a\": }"] {
            #expect(throws: APIError.self) { try JSONFields(body: Array(body.utf8)) }
        }
    }

    @Test func grammarAndSchema() throws {
        #expect(try options(#"{"grammar": "root ::= \"a\""}"#).grammar != nil)
        #expect(try options(#"{"json_schema": {"type": "integer"}}"#).grammarSource.contains("root"))
        expectBadRequest(#"{"grammar": "root ::= ("}"#, mentioning: "Failed to parse grammar")
    }

    @Test func chatRequestReadsOpenAIFields() throws {
        let chat = try ChatRequest(fields("""
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
         "max_tokens": 7, "logprobs": true, "top_logprobs": 3, "stream": true, "stream_options": {"include_usage": true},
         "stop": "x", "response_format": {"type": "json_object"}}
        """), vocabularySize: 1000)
        #expect(chat.messages.count == 1 && chat.messages[0]["content"] == .string("a\nb"))
        #expect(chat.options.predictLimit == 7 && chat.options.sampling.nProbs == 3 && chat.includeUsage)
        #expect(chat.options.stopStrings == ["x"] && chat.options.grammar != nil && chat.options.stream)
    }

    @Test func chatRequestRejectsBadInput() throws {
        for body in [#"{}"#, #"{"messages": []}"#, #"{"messages": [{"content": "x"}]}"#,
                     #"{"messages": [{"role": "user", "content": "x"}], "n": 0}"#,
                     #"{"messages": [{"role": "user", "content": "x"}], "n": 17}"#,
                     #"{"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}"#,
                     #"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}"#,
                     #"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}}"#] {
            #expect(throws: APIError.self, "\(body)") { try ChatRequest(fields(body), vocabularySize: 1000) }
        }
    }
}
