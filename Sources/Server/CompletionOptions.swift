import Grammar
import JSON
import Sampling
import Serving

/// The /completion options shared by every generating route (native and OpenAI), decoded and
/// validated; routes add their own prompt handling on top.
struct CompletionOptions {
    var sampling = SamplingParameters()
    var predictLimit = -1
    /// `n_keep`; nil: the server's `--keep`.
    var keepCount: Int?
    var stopStrings: [String] = []
    var stream = false
    var cachePrompt = false
    var slotID: Int?
    var grammar: Grammar?
    var grammarSource = ""
    /// The grammar was built from a JSON schema (`json_schema`, `response_format`), not given as GBNF.
    var grammarIsSchema = false
    var returnTokens = false
    /// `post_sampling_probs` (today's llama-server).
    var postSamplingProbs = false
    /// `return_progress` (today's llama-server): stream prompt progress.
    var returnProgress = false
    /// `timings_per_token` (today's llama-server): every streamed token carries `timings`.
    var timingsPerToken = false
    var systemPrompt: SystemPrompt?
    /// `lora`: a scale per adapter id for this request only (nil: the server's scales).
    var adapterScales: [Float]?
    /// `response_fields` (today's llama-server): the final result cut down to these (`ResponseFields`).
    var responseFields: [String]?

    /// Most `n_probs` a request may ask for (each token then carries this many alternatives).
    static let maxProbabilities = 1024

    /// Reads every /completion option present in `fields`; sampling options left out take the
    /// server-wide `defaults` (`--temp`, `--seed`, …).
    init(_ f: JSONFields, vocabularySize: Int, defaults: SamplingParameters = SamplingParameters(),
         adapterCount: Int = 0) throws(APIError) {
        if let lora = f["lora"], lora != .null {
            adapterScales = try LoraScales.parse(lora, adapterCount: adapterCount, field: "lora")
        }
        try readSampling(f, defaults: defaults)
        if let n = try f.int("n_predict", in: -1...Int(Int32.max)) { predictLimit = n }
        if let n = try f.int("n_keep", in: -1...Int(Int32.max)) { keepCount = n }
        if let s = try f.stringList("stop") { stopStrings = s }
        if let s = try f.bool("stream") { stream = s }
        if let c = try f.bool("cache_prompt") { cachePrompt = c }
        if let r = try f.bool("return_tokens") { returnTokens = r }
        if let p = try f.bool("post_sampling_probs") { postSamplingProbs = p }
        if let p = try f.bool("return_progress") { returnProgress = p }
        if let t = try f.bool("timings_per_token") { timingsPerToken = t }
        if let paths = try ResponseFields.parse(f), !paths.isEmpty { responseFields = paths }
        var slot = try f.int("id_slot", in: -1...Int(Int32.max))
        if slot == nil { slot = try f.int("slot_id", in: -1...Int(Int32.max)) }
        if let id = slot, id != -1 { slotID = id }
        if let images = try f.array("image_data"), !images.isEmpty {
            throw .badRequest("image_data is not supported: this server has no multimodal projector")
        }
        if let sp = try f.object("system_prompt") {
            systemPrompt = SystemPrompt(prompt: try sp.string("prompt") ?? "",
                                        antiPrompt: try sp.string("anti_prompt") ?? "",
                                        assistantName: try sp.string("assistant_name") ?? "")
        }
        try readGrammar(f)
        try validate(vocabularySize: vocabularySize)
    }

    private mutating func readSampling(_ f: JSONFields, defaults: SamplingParameters) throws(APIError) {
        var p = defaults
        if let v = try f.float("temperature") { p.temperature = v }
        if let v = try f.float("dynatemp_range") { p.dynatempRange = v }
        if let v = try f.float("dynatemp_exponent") { p.dynatempExponent = v }
        if let v = try f.int("top_k", in: JSONFields.int32Range) { p.topK = v }
        if let v = try f.float("top_p") { p.topP = v }
        if let v = try f.float("min_p") { p.minP = v }
        if let v = try f.float("tfs_z") { p.tfsZ = v }
        if let v = try f.float("typical_p") { p.typicalP = v }
        if let v = try f.float("repeat_penalty") { p.repeatPenalty = v }
        if let v = try f.int("repeat_last_n", in: -1...Int(Int32.max)) { p.repeatLastN = v }
        if let v = try f.bool("penalize_nl") { p.penalizeNl = v }
        if let v = try f.float("presence_penalty") { p.presencePenalty = v }
        if let v = try f.float("frequency_penalty") { p.frequencyPenalty = v }
        if let v = try f.int("mirostat", in: 0...2) { p.mirostat = v }
        if let v = try f.float("mirostat_tau") { p.mirostatTau = v }
        if let v = try f.float("mirostat_eta") { p.mirostatEta = v }
        if let v = try f.int("seed", in: -1...(1 << 53)) { p.seed = Int64(v) }
        if let v = try f.bool("ignore_eos") { p.ignoreEos = v }
        if let v = try f.int("n_probs", in: 0...Int(Int32.max)) { p.nProbs = v }
        if let v = try f.int("min_keep", in: 0...Int(Int32.max)) { p.minKeep = v }
        if case .string(let letters)? = f["samplers"], let kinds = SamplerKind.parse(sequence: letters), !kinds.isEmpty {
            p.samplers = kinds.map(\.rawValue)  // today's llama-server: one string of sampler letters ("dkypmxt")
        } else if let v = try f.stringList("samplers") {
            p.samplers = v
        }
        if let v = try f.float("top_n_sigma") { p.topNSigma = v }
        if let v = try f.float("xtc_probability") { p.xtcProbability = v }
        if let v = try f.float("xtc_threshold") { p.xtcThreshold = v }
        if let v = try f.float("dry_multiplier") { p.dryMultiplier = v }
        // llama-server replaces a base below 1 (which would disable DRY) by its default.
        if let v = try f.float("dry_base") { p.dryBase = v < 1 ? defaults.dryBase : v }
        if let v = try f.int("dry_allowed_length", in: 0...Int(Int32.max)) { p.dryAllowedLength = v }
        if let v = try f.int("dry_penalty_last_n", in: -1...Int(Int32.max)) { p.dryPenaltyLastN = v }
        if let items = try f.array("dry_sequence_breakers") {
            let shape = "a non-empty array of strings"
            guard !items.isEmpty else { throw .badRequest("Invalid value for 'dry_sequence_breakers': must be \(shape)") }
            guard items.count <= SamplingParameters.maxSequenceBreakers else {
                throw .badRequest("Invalid value for 'dry_sequence_breakers': at most \(SamplingParameters.maxSequenceBreakers) breakers, got \(items.count)")
            }
            var breakers: [String] = []
            for item in items {
                guard case .string(let b) = item else { throw JSONFields.typeError("dry_sequence_breakers", shape) }
                breakers.append(b)
            }
            p.drySequenceBreakers = breakers
        }
        if let v = f["penalty_prompt"] {
            switch v {
            case .string(let s): p.penaltyPrompt = .text(s)
            case .array(let items):
                var tokens: [Int] = []
                for item in items {
                    guard let t = item.intValue else { throw JSONFields.typeError("penalty_prompt", "a string or an array of token ids") }
                    tokens.append(t)
                }
                p.penaltyPrompt = .tokens(tokens)
            default: throw JSONFields.typeError("penalty_prompt", "a string or an array of token ids")
            }
        }
        if let v = f["logit_bias"] { p.logitBias = try Self.logitBias(v) }
        sampling = p
    }

    /// `logit_bias` as `[[token|string, bias|false], …]` or `{"token": bias}` (OpenAI).
    static func logitBias(_ v: JSONValue) throws(APIError) -> [LogitBiasEntry] {
        let shape = "an array of [token, bias] pairs or an object of token: bias"
        func value(_ v: JSONValue) throws(APIError) -> LogitBiasValue {
            if case .bool(false) = v { return .ban }
            guard let d = v.doubleValue else { throw JSONFields.typeError("logit_bias", shape) }
            return .add(Float(d))
        }
        var out: [LogitBiasEntry] = []
        switch v {
        case .bool(false):
            break  // no bias, as the spec's server read any logit_bias that was not an array (null: the default)
        case .array(let pairs):
            for pair in pairs {
                guard case .array(let p) = pair, p.count == 2 else { throw JSONFields.typeError("logit_bias", shape) }
                let target: LogitBiasTarget
                if let t = p[0].intValue { target = .token(t) } else if case .string(let s) = p[0] { target = .text(s) } else {
                    throw JSONFields.typeError("logit_bias", shape)
                }
                out.append(LogitBiasEntry(target, try value(p[1])))
            }
        case .object(let members):
            for (key, bias) in members {
                let target: LogitBiasTarget
                if let token = Int(key) {
                    target = .token(token)
                } else if !key.isEmpty && key.allSatisfy({ $0.isASCII && $0.isNumber }) {
                    throw .badRequest("Invalid token id '\(key)' in 'logit_bias': out of range")
                } else {
                    target = .text(key)
                }
                out.append(LogitBiasEntry(target, try value(bias)))
            }
        default: throw JSONFields.typeError("logit_bias", shape)
        }
        return out
    }

    private mutating func readGrammar(_ f: JSONFields) throws(APIError) {
        if let g = try f.string("grammar"), !g.isEmpty {
            grammar = try Self.parseGrammar(g)
            grammarSource = g
        } else if let schema = f["json_schema"] {
            try useSchema(schema)
        }
    }

    /// Constrains output to a JSON schema (`json_schema`, OpenAI `response_format`).
    mutating func useSchema(_ schema: JSONValue) throws(APIError) {
        let gbnf: String
        do { gbnf = try JSONSchemaConverter.convert(schema: schema).gbnf } catch {
            throw .badRequest("Failed to convert json_schema to a grammar: \(error.description)")
        }
        grammar = try Self.parseGrammar(gbnf)
        grammarSource = gbnf
        grammarIsSchema = true
    }

    /// Any JSON object (`response_format: {"type": "json_object"}`).
    mutating func useJSONObjectGrammar() throws(APIError) {
        let gbnf = JSONSchemaConverter.jsonObjectGBNF
        grammar = try Self.parseGrammar(gbnf)
        grammarSource = gbnf
        grammarIsSchema = true
    }

    static func parseGrammar(_ text: String) throws(APIError) -> Grammar {
        do { return try Grammar.parse(text) } catch {
            throw .badRequest("Failed to parse grammar: \(error.description)")
        }
    }

    private func validate(vocabularySize: Int) throws(APIError) {
        if predictLimit < -1 { throw .badRequest("n_predict must be -1 (unlimited) or a non-negative number, got \(predictLimit)") }
        if let keepCount, keepCount < -1 { throw .badRequest("n_keep must be -1 (keep the whole prompt) or non-negative, got \(keepCount)") }
        if sampling.nProbs > Self.maxProbabilities {
            throw .badRequest("n_probs must be at most \(Self.maxProbabilities), got \(sampling.nProbs)")
        }
        do { try sampling.validate(vocabularySize: vocabularySize) } catch {
            throw .badRequest("Invalid value for '\(error.field)': \(error.description)")
        }
    }

    /// The engine request for already tokenized prompt tokens.
    func request(prompt: [Int32], promptText: String) -> GenerationRequest {
        var request = GenerationRequest(promptTokens: prompt, sampling: sampling, predictLimit: predictLimit,
                                        keepCount: keepCount, stopStrings: stopStrings, slotID: slotID,
                                        cachePrompt: cachePrompt, grammar: grammar, grammarSource: grammarSource,
                                        promptText: promptText, stream: stream)
        request.reportsProgress = returnProgress && stream
        request.adapterScales = adapterScales
        request.reportsTimings = timingsPerToken && stream
        return request
    }
}
