/// The `penalty_prompt` option: text (tokenized by the caller's closure) or token ids.
public enum PenaltyPrompt: Sendable, Equatable {
    case text(String)
    case tokens([Int])
}

/// Every sampling option of POST /completion, with the spec's defaults.
///
/// The server decodes request JSON into this struct (it is deliberately not Codable), calls
/// `validate(vocabularySize:)`, then builds a `SamplerChain` from it.
public struct SamplingParameters: Sendable, Equatable {
    /// `temperature`, default 0.8. ≤ 0 means greedy decoding (probabilities still reported).
    public var temperature: Float = 0.8
    /// `dynatemp_range`, default 0 (disabled). Final temperature in [T − range, T + range].
    public var dynatempRange: Float = 0
    /// `dynatemp_exponent`, default 1.
    public var dynatempExponent: Float = 1
    /// `top_k`, default 40; ≤ 0 disables.
    public var topK: Int = 40
    /// `top_p`, default 0.95; 1 disables.
    public var topP: Float = 0.95
    /// `min_p`, default 0.05; 0 disables.
    public var minP: Float = 0.05
    /// `n_predict`, default -1 (unbounded). Not used by sampling; kept so the struct has every option.
    public var nPredict: Int = -1
    /// `tfs_z`, default 1 (disabled).
    public var tfsZ: Float = 1
    /// `typical_p`, default 1 (disabled).
    public var typicalP: Float = 1
    /// `repeat_penalty`, default 1.1.
    public var repeatPenalty: Float = 1.1
    /// `repeat_last_n`, default 64; 0 disables, -1 means the whole context.
    public var repeatLastN: Int = 64
    /// `penalize_nl`, default true.
    public var penalizeNl: Bool = true
    /// `presence_penalty`, default 0 (disabled).
    public var presencePenalty: Float = 0
    /// `frequency_penalty`, default 0 (disabled).
    public var frequencyPenalty: Float = 0
    /// `penalty_prompt`, default nil (use the prompt itself).
    public var penaltyPrompt: PenaltyPrompt? = nil
    /// `mirostat`, default 0: 0 off, 1 Mirostat, 2 Mirostat 2.0.
    public var mirostat: Int = 0
    /// `mirostat_tau`, default 5.
    public var mirostatTau: Float = 5
    /// `mirostat_eta`, default 0.1.
    public var mirostatEta: Float = 0.1
    /// `seed`, default -1 (random). -1 and 0xFFFFFFFF both mean "pick a random seed".
    public var seed: Int64 = -1
    /// `ignore_eos`, default false (true bans every EOS token).
    public var ignoreEos: Bool = false
    /// `logit_bias`, default [].
    public var logitBias: [LogitBiasEntry] = []
    /// `n_probs`, default 0.
    public var nProbs: Int = 0
    /// `min_keep`, default 0.
    public var minKeep: Int = 0
    /// `top_n_sigma`, default -1; ≤ 0 disables.
    public var topNSigma: Float = -1
    /// `xtc_probability`, default 0 (disabled); in [0, 1].
    public var xtcProbability: Float = 0
    /// `xtc_threshold`, default 0.1; in [0, 1], above 0.5 disables XTC.
    public var xtcThreshold: Float = 0.1
    /// `dry_multiplier`, default 0 (disabled).
    public var dryMultiplier: Float = 0
    /// `dry_base`, default 1.75 (the server replaces values below 1 by its default, as llama-server).
    public var dryBase: Float = 1.75
    /// `dry_allowed_length`, default 2.
    public var dryAllowedLength: Int = 2
    /// `dry_penalty_last_n`, default -1 (the whole context); 0 disables.
    public var dryPenaltyLastN: Int = -1
    /// `dry_sequence_breakers`, default ["\n", ":", "\"", "*"].
    public var drySequenceBreakers: [String] = SamplingParameters.defaultSequenceBreakers

    /// llama.cpp's default DRY sequence breakers.
    public static let defaultSequenceBreakers = ["\n", ":", "\"", "*"]
    /// Most `dry_sequence_breakers` entries a request may give (llama.cpp has no limit, but scans the
    /// vocabulary once per breaker when it builds the sampler, so the count bounds that work).
    public static let maxSequenceBreakers = 64

    /// `samplers`, default ["dry", "top_n_sigma", "top_k", "tfs_z", "typical_p", "top_p", "min_p", "xtc", "temperature"].
    public var samplers: [String] = SamplerKind.defaultOrder.map(\.rawValue)

    public init() {}

    /// True when `seed` asks for a random seed.
    public var usesRandomSeed: Bool { seed == -1 || seed == 0xFFFF_FFFF }

    /// The `samplers` option parsed into kinds (throws on an unknown name).
    public func samplerKinds() throws(SamplingParameterError) -> [SamplerKind] {
        var kinds: [SamplerKind] = []
        for name in samplers where name.lowercased() != SamplerKind.penaltiesName {
            guard let kind = SamplerKind(name: name) else {
                throw SamplingParameterError.unknownSampler(name: name)
            }
            kinds.append(kind)
        }
        return kinds
    }

    /// Checks every field; throws the first problem found, naming the spec field.
    /// - Parameter vocabularySize: when given, token ids in `logit_bias`/`penalty_prompt` must be below it.
    public func validate(vocabularySize: Int? = nil) throws(SamplingParameterError) {
        func finite(_ v: Float, _ field: String) throws(SamplingParameterError) {
            if !v.isFinite { throw .invalidValue(field: field, reason: "must be a finite number") }
        }
        func nonNegative(_ v: Float, _ field: String) throws(SamplingParameterError) {
            try finite(v, field)
            if v < 0 { throw .invalidValue(field: field, reason: "must not be negative") }
        }
        try finite(temperature, "temperature")
        try nonNegative(dynatempRange, "dynatemp_range")
        try nonNegative(dynatempExponent, "dynatemp_exponent")
        try nonNegative(topP, "top_p")
        try nonNegative(minP, "min_p")
        try nonNegative(tfsZ, "tfs_z")
        try nonNegative(typicalP, "typical_p")
        try nonNegative(repeatPenalty, "repeat_penalty")
        if repeatPenalty == 0 { throw .invalidValue(field: "repeat_penalty", reason: "must be greater than 0") }
        try finite(presencePenalty, "presence_penalty")
        try finite(frequencyPenalty, "frequency_penalty")
        try nonNegative(mirostatTau, "mirostat_tau")
        try nonNegative(mirostatEta, "mirostat_eta")
        if repeatLastN < -1 { throw .invalidValue(field: "repeat_last_n", reason: "must be -1, 0 or positive") }
        if nPredict < -1 { throw .invalidValue(field: "n_predict", reason: "must be -1 or non-negative") }
        if !(0...2).contains(mirostat) { throw .invalidValue(field: "mirostat", reason: "must be 0, 1 or 2") }
        if seed < -1 { throw .invalidValue(field: "seed", reason: "must be -1 (random) or non-negative") }
        if nProbs < 0 { throw .invalidValue(field: "n_probs", reason: "must not be negative") }
        if minKeep < 0 { throw .invalidValue(field: "min_keep", reason: "must not be negative") }
        try finite(topNSigma, "top_n_sigma")
        try nonNegative(xtcProbability, "xtc_probability")
        if xtcProbability > 1 { throw .invalidValue(field: "xtc_probability", reason: "must be between 0 and 1") }
        try nonNegative(xtcThreshold, "xtc_threshold")
        if xtcThreshold > 1 { throw .invalidValue(field: "xtc_threshold", reason: "must be between 0 and 1") }
        try nonNegative(dryMultiplier, "dry_multiplier")
        try finite(dryBase, "dry_base")
        if dryBase < 1 { throw .invalidValue(field: "dry_base", reason: "must be at least 1") }
        if dryAllowedLength < 0 || dryAllowedLength > Int(Int32.max) {
            throw .invalidValue(field: "dry_allowed_length", reason: "must be between 0 and \(Int32.max)")
        }
        if dryPenaltyLastN < -1 || dryPenaltyLastN > Int(Int32.max) {
            throw .invalidValue(field: "dry_penalty_last_n", reason: "must be -1 (the whole context), 0 (disabled) or positive")
        }
        if drySequenceBreakers.count > Self.maxSequenceBreakers {
            throw .invalidValue(field: "dry_sequence_breakers", reason: "at most \(Self.maxSequenceBreakers) breakers")
        }
        _ = try samplerKinds()
        for entry in logitBias {
            if case .add(let b) = entry.value, b.isNaN {
                throw .invalidValue(field: "logit_bias", reason: "bias must be a number or false")
            }
            if case .token(let t) = entry.target {
                if t < 0 || (vocabularySize.map { t >= $0 } ?? false) {
                    throw .tokenOutOfRange(field: "logit_bias", token: t, vocabularySize: vocabularySize)
                }
            }
        }
        if case .tokens(let tokens) = penaltyPrompt {
            for t in tokens where t < 0 || (vocabularySize.map { t >= $0 } ?? false) {
                throw .tokenOutOfRange(field: "penalty_prompt", token: t, vocabularySize: vocabularySize)
            }
        }
    }
}

/// A rejected sampling option; `field` is the spec's JSON name of the offending option.
public enum SamplingParameterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidValue(field: String, reason: String)
    case unknownSampler(name: String)
    case tokenOutOfRange(field: String, token: Int, vocabularySize: Int?)

    public var field: String {
        switch self {
        case .invalidValue(let field, _): field
        case .unknownSampler: "samplers"
        case .tokenOutOfRange(let field, _, _): field
        }
    }

    public var description: String {
        switch self {
        case .invalidValue(let field, let reason): "\(field): \(reason)"
        case .unknownSampler(let name):
            "samplers: unknown sampler \"\(name)\" (expected one of \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .tokenOutOfRange(let field, let token, let vocab):
            "\(field): token id \(token) is out of range" + (vocab.map { " (vocabulary size \($0))" } ?? "")
        }
    }
}
