import ArgumentParser
import Sampling

/// llama-server's sampling flags (`--temp`, `--top-k`, `--seed`, …): server-wide defaults for
/// every sampling option a request leaves out. A request's own value always wins.
///
/// Flags for a sampler cria does not have (adaptive-p) are accepted only at their disabling
/// values, so a script that spells out llama-server's defaults still starts, while one that asks
/// for the sampler is told it is missing instead of silently not getting it.
struct SamplingDefaultOptions: ParsableArguments {
    @Option(name: [.customLong("temp"), .customLong("temperature")], parsing: .unconditional, help: "Default temperature (≤ 0: greedy).")
    var temperature: Float?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Default top-k (0 disables).")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Default top-p (1 disables).")
    var topP: Float?
    @Option(name: .customLong("min-p"), help: "Default min-p (0 disables).")
    var minP: Float?
    @Option(name: [.customLong("typical"), .customLong("typical-p")], help: "Default locally typical p (1 disables).")
    var typicalP: Float?
    @Option(name: .customLong("tfs"), help: "Default tail-free z (1 disables).")
    var tfsZ: Float?
    @Option(name: [.customShort("s"), .customLong("seed")], parsing: .unconditional, help: "Default RNG seed (-1 or 4294967295: random).")
    var seed: Int64?
    @Option(name: .customLong("repeat-penalty"), help: "Default repeat penalty (1 disables).")
    var repeatPenalty: Float?
    @Option(name: .customLong("repeat-last-n"), parsing: .unconditional, help: "Default tokens considered by the penalties (0 disables, -1 whole context).")
    var repeatLastN: Int?
    @Option(name: .customLong("presence-penalty"), parsing: .unconditional, help: "Default presence penalty (0 disables).")
    var presencePenalty: Float?
    @Option(name: .customLong("frequency-penalty"), parsing: .unconditional, help: "Default frequency penalty (0 disables).")
    var frequencyPenalty: Float?
    @Option(name: .customLong("dynatemp-range"), help: "Default dynamic temperature range (0 disables).")
    var dynatempRange: Float?
    @Option(name: .customLong("dynatemp-exp"), help: "Default dynamic temperature exponent.")
    var dynatempExponent: Float?
    @Option(name: .customLong("mirostat"), help: "Default Mirostat mode: 0 off, 1 Mirostat, 2 Mirostat 2.0.")
    var mirostat: Int?
    @Option(name: .customLong("mirostat-lr"), help: "Default Mirostat learning rate (eta).")
    var mirostatEta: Float?
    @Option(name: .customLong("mirostat-ent"), help: "Default Mirostat target entropy (tau).")
    var mirostatTau: Float?
    @Option(name: .customLong("min-keep"), help: "Default minimum candidates each sampler keeps.")
    var minKeep: Int?
    @Option(name: .customLong("samplers"), help: "Default sampler order, ';'-separated (e.g. top_k;top_p;min_p;temperature).")
    var samplers: String?
    @Option(name: [.customLong("sampling-seq"), .customLong("sampler-seq")], help: "Default sampler order as letters (e.g. kfypmt).")
    var samplingSequence: String?
    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past end-of-sequence tokens by default.")
    var ignoreEOS = false
    @Option(name: [.customShort("l"), .customLong("logit-bias")], help: "Default logit bias TOKEN_ID+BIAS or TOKEN_ID-BIAS (repeatable).")
    var logitBias: [String] = []

    @Option(name: [.customLong("top-nsigma"), .customLong("top-n-sigma")], parsing: .unconditional, help: "Default top-n-sigma (≤ 0 disables; default -1).")
    var topNSigma: Float?
    @Option(name: .customLong("xtc-probability"), help: "Default XTC probability, 0…1 (0 disables).")
    var xtcProbability: Float?
    @Option(name: .customLong("xtc-threshold"), help: "Default XTC threshold, 0…1 (> 0.5 disables; default 0.1).")
    var xtcThreshold: Float?
    @Option(name: .customLong("dry-multiplier"), help: "Default DRY multiplier (0 disables).")
    var dryMultiplier: Float?
    @Option(name: .customLong("dry-base"), help: "Default DRY base (≥ 1; default 1.75).")
    var dryBase: Float?
    @Option(name: .customLong("dry-allowed-length"), help: "Default DRY allowed length (default 2).")
    var dryAllowedLength: Int?
    @Option(name: .customLong("dry-penalty-last-n"), parsing: .unconditional, help: "Default DRY window (0 disables, -1 whole context).")
    var dryPenaltyLastN: Int?
    @Option(name: .customLong("dry-sequence-breaker"), help: "DRY sequence breaker (repeatable; replaces the defaults \\n : \" *; \"none\" for none).")
    var drySequenceBreakers: [String] = []
    // A sampler cria lacks: only its disabling value is accepted.
    @Option(name: .customLong("adaptive-target"), parsing: .unconditional, help: "Adaptive-p target (not supported: only a negative value, disabled).")
    var adaptiveTarget: Float?
    @Option(name: .customLong("adaptive-decay"), help: "Adaptive-p decay (no effect while adaptive-p is off).")
    var adaptiveDecay: Float?

    func validate() throws {
        if let adaptiveTarget, adaptiveTarget >= 0 { throw unsupported("--adaptive-target", "adaptive-p", "-1") }
        if samplers != nil && samplingSequence != nil {
            throw ValidationError("--samplers and --sampling-seq both set the sampler order: pass only one")
        }
        _ = try parameters()
    }

    private func unsupported(_ flag: String, _ sampler: String, _ off: String) -> ValidationError {
        ValidationError("\(flag): cria has no \(sampler) sampler; leave the flag out or pass \(off) (disabled)")
    }

    /// The spec's defaults with every flag given applied; throws naming the flag at fault.
    func parameters() throws -> SamplingParameters {
        var p = SamplingParameters()
        // llama-server clamps a negative --temp to 0 (greedy), which is what ≤ 0 means here too.
        if let temperature { p.temperature = max(0, temperature) }
        if let topK { p.topK = topK }
        if let topP { p.topP = topP }
        if let minP { p.minP = minP }
        if let typicalP { p.typicalP = typicalP }
        if let tfsZ { p.tfsZ = tfsZ }
        if let seed { p.seed = seed }
        if let repeatPenalty { p.repeatPenalty = repeatPenalty }
        if let repeatLastN { p.repeatLastN = repeatLastN }
        if let presencePenalty { p.presencePenalty = presencePenalty }
        if let frequencyPenalty { p.frequencyPenalty = frequencyPenalty }
        if let dynatempRange { p.dynatempRange = dynatempRange }
        if let dynatempExponent { p.dynatempExponent = dynatempExponent }
        if let mirostat { p.mirostat = mirostat }
        if let mirostatEta { p.mirostatEta = mirostatEta }
        if let mirostatTau { p.mirostatTau = mirostatTau }
        if let minKeep { p.minKeep = minKeep }
        if let topNSigma { p.topNSigma = topNSigma }
        if let xtcProbability { p.xtcProbability = xtcProbability }
        if let xtcThreshold { p.xtcThreshold = xtcThreshold }
        if let dryMultiplier { p.dryMultiplier = dryMultiplier }
        if let dryBase { p.dryBase = dryBase }
        if let dryAllowedLength { p.dryAllowedLength = dryAllowedLength }
        if let dryPenaltyLastN { p.dryPenaltyLastN = dryPenaltyLastN }
        if !drySequenceBreakers.isEmpty {
            // As llama-server: the flags replace the defaults, and "none" alone means no breakers.
            p.drySequenceBreakers = drySequenceBreakers == ["none"] ? [] : drySequenceBreakers
        }
        p.ignoreEos = ignoreEOS
        if let samplers { p.samplers = try Self.samplerNames(samplers) }
        if let samplingSequence {
            guard let kinds = SamplerKind.parse(sequence: samplingSequence) else {
                let letters = SamplerKind.allCases.map { String($0.character) }.joined()
                throw ValidationError("--sampling-seq \(samplingSequence): each letter must be one of \(letters)")
            }
            p.samplers = kinds.map(\.rawValue)
        }
        p.logitBias = try logitBias.map(Self.logitBiasEntry)
        do { try p.validate() } catch {
            throw ValidationError("invalid sampling default: \(error.description)")
        }
        return p
    }

    /// `--samplers a;b;c` in today's llama-server names. `penalties` is where llama-server places
    /// the repetition penalties; cria always applies them first, so the name is accepted there and
    /// dropped. Samplers cria lacks are refused by name.
    static func samplerNames(_ list: String) throws -> [String] {
        var names: [String] = []
        for raw in list.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !raw.isEmpty {
            if raw.lowercased() == SamplerKind.penaltiesName { continue }
            guard let name = SamplerKind(name: raw)?.rawValue else {
                throw ValidationError("--samplers: cria has no sampler \"\(raw)\" (it has "
                                      + SamplerKind.allCases.map(\.rawValue).joined(separator: ", ") + ", penalties)")
            }
            names.append(name)
        }
        return names
    }

    /// `TOKEN_ID+BIAS` or `TOKEN_ID-BIAS`, as llama-server's `-l`.
    static func logitBiasEntry(_ text: String) throws -> LogitBiasEntry {
        let signIndex = text.dropFirst().firstIndex(where: { $0 == "+" || $0 == "-" })
        guard let signIndex, let token = Int(text[..<signIndex]), let magnitude = Float(text[text.index(after: signIndex)...]),
              token >= 0 else {
            throw ValidationError("--logit-bias \(text): expected TOKEN_ID+BIAS or TOKEN_ID-BIAS, e.g. 15043+1")
        }
        return LogitBiasEntry(.token(token), .add(text[signIndex] == "-" ? -magnitude : magnitude))
    }
}
