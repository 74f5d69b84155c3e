import Sampling
import Serving

/// `generation_settings` of a /completion response (and /props, /slots).
struct GenerationSettings: Encodable {
    var n_ctx: Int
    var n_predict: Int
    var model: String
    var seed: UInt64
    var temperature: Float
    var dynatemp_range: Float
    var dynatemp_exponent: Float
    var top_k: Int
    var top_p: Float
    var min_p: Float
    var tfs_z: Float
    var typical_p: Float
    var repeat_last_n: Int
    var repeat_penalty: Float
    var presence_penalty: Float
    var frequency_penalty: Float
    var penalty_prompt_tokens: [Int]
    var use_penalty_prompt_tokens: Bool
    var top_n_sigma: Float
    var xtc_probability: Float
    var xtc_threshold: Float
    var dry_multiplier: Float
    var dry_base: Float
    var dry_allowed_length: Int
    var dry_penalty_last_n: Int
    var dry_sequence_breakers: [String]
    var mirostat: Int
    var mirostat_tau: Float
    var mirostat_eta: Float
    var penalize_nl: Bool
    var stop: [String]
    var n_keep: Int
    var ignore_eos: Bool
    var stream: Bool
    var logit_bias: [[LogitBiasJSON]]
    var n_probs: Int
    var min_keep: Int
    var grammar: String
    var samplers: [String]

    /// `tokenize` turns a text `penalty_prompt` or `logit_bias` target into the tokens the
    /// sampler will use, which the settings list (the spec: "strings converted to tokens").
    /// `defaultPredictLimit` is the server's `-n`, which a request's `n_predict` of -1 stands for.
    init(request r: GenerationRequest, contextSize: Int, model: String, seed: UInt64? = nil,
         defaultPredictLimit: Int = -1, defaultKeepCount: Int = 0, tokenize: (String) -> [Int32] = { _ in [] }) {
        let p = r.sampling
        n_ctx = contextSize
        n_predict = r.predictLimit < 0 ? defaultPredictLimit : r.predictLimit
        self.model = model
        self.seed = seed ?? (p.seed < 0 ? UInt64(UInt32.max) : UInt64(p.seed)) // llama-server shows -1 as 4294967295
        temperature = p.temperature
        dynatemp_range = p.dynatempRange
        dynatemp_exponent = p.dynatempExponent
        top_k = p.topK
        top_p = p.topP
        min_p = p.minP
        tfs_z = p.tfsZ
        typical_p = p.typicalP
        repeat_last_n = p.repeatLastN
        repeat_penalty = p.repeatPenalty
        presence_penalty = p.presencePenalty
        frequency_penalty = p.frequencyPenalty
        switch p.penaltyPrompt {
        case .tokens(let t)?: penalty_prompt_tokens = t
        case .text(let s)?: penalty_prompt_tokens = tokenize(s).map(Int.init)
        case nil: penalty_prompt_tokens = []
        }
        use_penalty_prompt_tokens = p.penaltyPrompt != nil
        top_n_sigma = p.topNSigma
        xtc_probability = p.xtcProbability
        xtc_threshold = p.xtcThreshold
        dry_multiplier = p.dryMultiplier
        dry_base = p.dryBase
        dry_allowed_length = p.dryAllowedLength
        dry_penalty_last_n = p.dryPenaltyLastN
        dry_sequence_breakers = p.drySequenceBreakers
        mirostat = p.mirostat
        mirostat_tau = p.mirostatTau
        mirostat_eta = p.mirostatEta
        penalize_nl = p.penalizeNl
        stop = r.stopStrings
        n_keep = r.keepCount ?? defaultKeepCount
        ignore_eos = p.ignoreEos
        stream = r.stream
        logit_bias = p.logitBias.flatMap { entry -> [[LogitBiasJSON]] in
            let value: LogitBiasJSON = switch entry.value {
            case .add(let b): .float(b)
            case .ban: .bool(false)
            }
            return switch entry.target {
            case .token(let t): [[.int(t), value]]
            case .text(let s): tokenize(s).map { [.int(Int($0)), value] }
            }
        }
        n_probs = p.nProbs
        min_keep = p.minKeep
        grammar = r.grammarSource
        samplers = p.samplers
    }
}

/// A scalar inside `logit_bias` pairs.
enum LogitBiasJSON: Encodable {
    case int(Int), float(Float), bool(Bool)
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .float(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        }
    }
}

/// `timings` of a /completion response.
struct TimingsJSON: Encodable {
    var prompt_n: Int
    var prompt_ms: Double
    var prompt_per_token_ms: Double
    var prompt_per_second: Double
    var predicted_n: Int
    var predicted_ms: Double
    var predicted_per_token_ms: Double
    var predicted_per_second: Double
    /// Today's llama-server: prompt tokens reused from the slot's cache.
    var cache_n: Int?

    init(_ t: GenerationTimings, cached: Int? = nil) {
        cache_n = cached
        prompt_n = t.promptTokens
        prompt_ms = t.promptMilliseconds
        prompt_per_token_ms = t.promptPerTokenMilliseconds
        prompt_per_second = t.promptPerSecond
        predicted_n = t.predictedTokens
        predicted_ms = t.predictedMilliseconds
        predicted_per_token_ms = t.predictedPerTokenMilliseconds
        predicted_per_second = t.predictedPerSecond
    }
}

/// One entry of `completion_probabilities`: the chosen token and the top `n_probs` candidates.
struct TokenProbabilitiesJSON: Encodable {
    struct Candidate: Encodable {
        var tok_str: String
        var prob: Float
    }
    /// Today's llama-server describes a token by id, text and UTF-8 bytes, with a log-probability
    /// (or, with `post_sampling_probs`, a probability).
    struct Token: Encodable {
        var id: Int32
        var token: String
        var bytes: [UInt8]
        var logprob: Float?
        var prob: Float?
    }
    var content: String
    var probs: [Candidate]
    /// Today's fields, beside the spec's `content`/`probs`: the chosen token, then its
    /// alternatives as `top_logprobs` (raw distribution) or `top_probs` (after sampling).
    var today: Token
    var top_logprobs: [Token]?
    var top_probs: [Token]?

    /// `probs` always has `n_probs` entries, as the spec says: when fewer candidates survived the
    /// samplers, the most likely raw tokens not listed fill it with probability 0 (llama-server
    /// likewise showed filtered-out tokens at 0).
    init(_ p: TokenProbabilities, text: (Int32) -> String, postSampling: Bool = false) {
        content = text(p.token)
        probs = p.postSampling.map { Candidate(tok_str: text($0.token), prob: $0.probability) }
        let listed = Set(p.postSampling.map(\.token))
        for filler in p.preSampling where probs.count < p.preSampling.count && !listed.contains(filler.token) {
            probs.append(Candidate(tok_str: text(filler.token), prob: 0))
        }
        func token(_ t: TokenProbability) -> Token {
            let piece = text(t.token)
            return postSampling ? Token(id: t.token, token: piece, bytes: Array(piece.utf8), prob: t.probability)
                                : Token(id: t.token, token: piece, bytes: Array(piece.utf8), logprob: t.logprob)
        }
        if postSampling {
            today = token(p.selectedPostSampling)
            top_probs = p.postSampling.filter { $0.probability > 0 }.map(token)
        } else {
            today = token(p.selectedPreSampling)
            top_logprobs = p.preSampling.map(token)
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(content, forKey: .content)
        try c.encode(probs, forKey: .probs)
        try c.encode(today.id, forKey: .id)
        try c.encode(today.token, forKey: .token)
        try c.encode(today.bytes, forKey: .bytes)
        try c.encodeIfPresent(today.logprob, forKey: .logprob)
        try c.encodeIfPresent(today.prob, forKey: .prob)
        try c.encodeIfPresent(top_logprobs, forKey: .top_logprobs)
        try c.encodeIfPresent(top_probs, forKey: .top_probs)
    }
    enum Keys: CodingKey { case content, probs, id, token, bytes, logprob, prob, top_logprobs, top_probs }
}

/// The final /completion response (also the last SSE event of a stream).
struct CompletionResponse: Encodable {
    var content: String
    var id_slot: Int
    var stop = true
    var model: String
    var tokens_predicted: Int
    var tokens_evaluated: Int
    var generation_settings: GenerationSettings
    var prompt: String
    var truncated: Bool
    var stopped_eos: Bool
    var stopped_word: Bool
    var stopped_limit: Bool
    var stopping_word: String
    var tokens_cached: Int
    var timings: TimingsJSON
    var completion_probabilities: [TokenProbabilitiesJSON]?
    var tokens: [Int32]?
    /// Today's llama-server additions: whether the text has a line break, and why it stopped
    /// (`eos`, `limit` or `word`, the spec's three `stopped_*` flags in one).
    var has_new_line = false
    var stop_type = "none"
}

/// One streamed /completion token.
struct CompletionChunk: Encodable {
    var content: String
    var stop = false
    var id_slot: Int
    var multimodal = false
    var completion_probabilities: [TokenProbabilitiesJSON]?
    var tokens: [Int32]?
    /// With `timings_per_token`: the timings so far.
    var timings: TimingsJSON?
}

/// A streamed /completion event while the prompt is processed (`return_progress`, today's
/// llama-server): no text yet, the prompt's progress, and its timings so far.
struct ProgressChunk: Encodable {
    struct Progress: Encodable {
        var total: Int
        var cache: Int
        var processed: Int
        var time_ms: Int
    }
    var content = ""
    var stop = false
    var id_slot: Int?
    var tokens_predicted = 0
    var tokens_evaluated: Int
    var timings: TimingsJSON
    var prompt_progress: Progress

    init(_ p: PromptProgress, slotID: Int?) {
        id_slot = slotID
        tokens_evaluated = p.total
        timings = TimingsJSON(GenerationTimings(promptTokens: p.processed - p.cached, promptMilliseconds: p.milliseconds,
                                                predictedTokens: 0, predictedMilliseconds: 0), cached: p.cached)
        prompt_progress = Progress(total: p.total, cache: p.cached, processed: p.processed, time_ms: Int(p.milliseconds))
    }
}
