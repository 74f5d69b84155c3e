import Foundation

/// What the sampler needs to know about the model's vocabulary.
public struct VocabularyInfo: Sendable, Equatable {
    /// Number of logits per step.
    public var size: Int
    /// End-of-generation token ids (banned when `ignore_eos` is set).
    public var eosTokens: [Int32]
    /// The newline token (left unpenalised when `penalize_nl` is false).
    public var newlineToken: Int32?

    public init(size: Int, eosTokens: [Int32] = [], newlineToken: Int32? = nil) {
        self.size = size
        self.eosTokens = eosTokens
        self.newlineToken = newlineToken
    }
}

/// The per-sequence sampling pipeline: logit bias and penalties on the dense logits, then the
/// configured samplers in order, ending in a selecting sampler; with an optional token constraint.
///
/// One instance per sequence (it owns the random generator, penalty history, mirostat state and
/// all buffers, sized to the vocabulary once). Per generated token the engine calls
/// `sample(logits:)` and then `accept(_:)` with the token it emits. Not thread-safe: use it from
/// one task at a time (it is `@unchecked Sendable` so it can move between tasks).
///
/// Stage order (as llama.cpp's server of the spec's version): logit_bias (incl. `ignore_eos`) →
/// penalties → [constraint mask, only on resample] → then either greedy (temperature ≤ 0; DRY
/// first when enabled), or temperature → mirostat (v1/v2), or the `samplers` list (which today's
/// llama-server extends with dry, top_n_sigma and xtc) → distribution draw.
public final class SamplerChain: @unchecked Sendable {
    public let vocabulary: VocabularyInfo
    /// The seed actually used (a random one when the request asked for -1).
    public let seed: UInt64
    /// Stages that edit the dense logits before any truncation (bias, penalties).
    public let prefix: [any Sampler]
    /// The remaining stages; the last one selects the token.
    public let samplers: [any Sampler]
    /// Optional grammar / schema constraint.
    public let constraint: (any TokenConstraint)?
    /// Number of top probabilities to report per token (0 = none).
    public let nProbs: Int

    private var rng: SamplingRandomGenerator
    private let candidates: TokenCandidates
    private let penalties: PenaltiesSampler?
    private let drySamplers: [DRYSampler]
    /// Resolved `penalty_prompt` tokens, used by `acceptPrompt` instead of the prompt when set.
    public private(set) var penaltyPromptTokens: [Int32]?
    private let probabilityScratch: UnsafeMutablePointer<TokenData>

    /// Builds the chain a request's parameters describe.
    /// - Parameters:
    ///   - contextSize: the sequence's context length (`repeat_last_n = -1` means this many tokens).
    ///   - tokenize: resolves string `logit_bias` targets, a string `penalty_prompt` and DRY's
    ///     sequence breakers.
    ///   - piece: a token's text bytes, handed to the closure; with it DRY finds every token that
    ///     contains a breaker or starts one, as llama.cpp does (without it, only the breaker's own
    ///     tokenization breaks a sequence).
    public convenience init(parameters: SamplingParameters, vocabulary: VocabularyInfo, contextSize: Int,
                            constraint: (any TokenConstraint)? = nil,
                            tokenize: ((String) -> [Int32])? = nil,
                            piece: ((Int32, (UnsafeBufferPointer<UInt8>) -> Void) -> Void)? = nil) throws(SamplingParameterError) {
        try parameters.validate(vocabularySize: vocabulary.size)
        let kinds = try parameters.samplerKinds()
        let vocab = vocabulary.size
        let seed = parameters.usesRandomSeed ? SamplingRandomGenerator.randomSeed() : UInt64(parameters.seed)

        // DRY, when enabled and listed in `samplers`: its window is clamped to the context like
        // the penalties', and its breakers are resolved once per sequence.
        let dryWindow = parameters.dryPenaltyLastN == -1 ? max(contextSize, 1)
            : min(parameters.dryPenaltyLastN, max(contextSize, 1))
        var dryBreakers: [(head: Int32, tail: [Int32])]?
        func makeDRY() -> DRYSampler {
            if dryBreakers == nil {
                dryBreakers = DRYSampler.breakerSequences(parameters.drySequenceBreakers, vocabularySize: vocab,
                                                          tokenize: tokenize ?? { _ in [] }, piece: piece)
            }
            return DRYSampler(vocabularySize: vocab, multiplier: parameters.dryMultiplier, base: parameters.dryBase,
                              allowedLength: parameters.dryAllowedLength, window: dryWindow, breakers: dryBreakers!)
        }
        let dryActive = kinds.contains(.dry)
            && DRYSampler.isActive(multiplier: parameters.dryMultiplier, base: parameters.dryBase, window: dryWindow)

        var prefix: [any Sampler] = []
        var bias = LogitBiasSampler(entries: parameters.logitBias, vocabularySize: vocab, tokenize: tokenize).biases
        if parameters.ignoreEos {
            for eos in vocabulary.eosTokens where eos >= 0 && Int(eos) < vocab { bias.append((eos, -.infinity)) }
        }
        if !bias.isEmpty { prefix.append(LogitBiasSampler(biases: bias)) }

        // A window longer than the context never holds more tokens, so it is clamped (as
        // llama-server does) rather than allocated at the requested size.
        let window = parameters.repeatLastN == -1 ? max(contextSize, 1) : min(parameters.repeatLastN, max(contextSize, 1))
        if window > 0 {
            let p = PenaltiesSampler(vocabularySize: vocab, window: window,
                                     repeatPenalty: parameters.repeatPenalty,
                                     frequencyPenalty: parameters.frequencyPenalty,
                                     presencePenalty: parameters.presencePenalty,
                                     newlineToken: vocabulary.newlineToken,
                                     penalizeNewline: parameters.penalizeNl)
            prefix.append(p)
        }

        var stages: [any Sampler] = []
        let minKeep = min(max(1, parameters.minKeep), vocab)
        if parameters.temperature <= 0 {
            // Greedy ignores the truncating samplers, but DRY edits the logits the argmax is taken
            // over (llama-server runs its whole chain at temperature 0 too).
            if dryActive { stages.append(makeDRY()) }
            stages.append(GreedySampler())
        } else if parameters.mirostat == 1 {
            stages.append(TemperatureSampler(temperature: parameters.temperature))
            stages.append(MirostatSampler(vocabularySize: vocab, tau: parameters.mirostatTau, eta: parameters.mirostatEta))
        } else if parameters.mirostat == 2 {
            stages.append(TemperatureSampler(temperature: parameters.temperature))
            stages.append(MirostatV2Sampler(tau: parameters.mirostatTau, eta: parameters.mirostatEta))
        } else {
            for kind in kinds {
                switch kind {
                case .dry:
                    // Once, at its first place in the list (each DRY holds vocabulary-sized buffers,
                    // so a list naming it thousands of times must not build thousands).
                    if dryActive && !stages.contains(where: { $0 is DRYSampler }) { stages.append(makeDRY()) }
                case .topNSigma:
                    if parameters.topNSigma > 0 { stages.append(TopNSigmaSampler(n: parameters.topNSigma)) }
                case .xtc:
                    if XTCSampler.isActive(probability: parameters.xtcProbability, threshold: parameters.xtcThreshold) {
                        stages.append(XTCSampler(probability: parameters.xtcProbability, threshold: parameters.xtcThreshold,
                                                 minKeep: minKeep, seed: seed))
                    }
                case .topK: stages.append(TopKSampler(k: min(parameters.topK, vocab), minKeep: minKeep))
                case .tailFree: stages.append(TailFreeSampler(z: parameters.tfsZ, minKeep: minKeep))
                case .typicalP: stages.append(TypicalSampler(p: parameters.typicalP, minKeep: minKeep))
                case .topP: stages.append(TopPSampler(p: parameters.topP, minKeep: minKeep))
                case .minP: stages.append(MinPSampler(p: parameters.minP, minKeep: minKeep))
                case .temperature:
                    if parameters.dynatempRange > 0 {
                        stages.append(DynamicTemperatureSampler(temperature: parameters.temperature,
                                                                range: parameters.dynatempRange,
                                                                exponent: parameters.dynatempExponent))
                    } else {
                        stages.append(TemperatureSampler(temperature: parameters.temperature))
                    }
                }
            }
            stages.append(DistributionSampler())
        }

        var promptTokens: [Int32]?
        switch parameters.penaltyPrompt {
        case .none: promptTokens = nil
        case .tokens(let t): promptTokens = t.map { Int32(truncatingIfNeeded: $0) }
        case .text(let s): promptTokens = tokenize?(s) ?? []
        }

        self.init(vocabulary: vocabulary, prefix: prefix, samplers: stages, seed: seed,
                  nProbs: parameters.nProbs, constraint: constraint)
        self.penaltyPromptTokens = promptTokens
    }

    /// Builds a chain from explicit stages (custom pipelines, tests).
    /// `prefix` stages run first on the dense logits; the last of `samplers` should select a token
    /// (if none does, the argmax of the final candidates is taken).
    public init(vocabulary: VocabularyInfo, prefix: [any Sampler] = [], samplers: [any Sampler],
                seed: UInt64, nProbs: Int = 0, constraint: (any TokenConstraint)? = nil) {
        self.vocabulary = vocabulary
        self.prefix = prefix
        self.samplers = samplers
        self.seed = seed
        self.nProbs = max(0, min(nProbs, vocabulary.size))
        self.constraint = constraint
        rng = SamplingRandomGenerator(seed: seed)
        candidates = TokenCandidates(vocabularySize: vocabulary.size)
        penalties = prefix.lazy.compactMap { $0 as? PenaltiesSampler }.first
        drySamplers = (prefix + samplers).compactMap { $0 as? DRYSampler }
        penaltyPromptTokens = nil
        probabilityScratch = .allocate(capacity: max(1, self.nProbs))
    }

    deinit {
        probabilityScratch.deallocate()
    }

    /// Names of all stages in application order (diagnostics).
    public var stageNames: [String] { (prefix + samplers).map(\.name) }

    /// Feeds the prompt into the penalty and DRY histories (no grammar, no mirostat). When the
    /// request set `penalty_prompt`, the penalties get those tokens instead of `promptTokens`
    /// (DRY, which the spec's `penalty_prompt` predates, always sees the prompt, as in llama-server).
    public func acceptPrompt<S: Sequence<Int32>>(_ promptTokens: S) {
        guard penalties != nil || !drySamplers.isEmpty else { return }
        if let p = penalties, let replacement = penaltyPromptTokens {
            for t in replacement { p.accept(t) }
        }
        let feedPenalties = penaltyPromptTokens == nil ? penalties : nil
        for t in promptTokens {
            feedPenalties?.accept(t)
            for d in drySamplers { d.accept(t) }
        }
    }

    /// Chooses the next token from one step's logits (`vocabulary.size` floats).
    public func sample(logits: UnsafeBufferPointer<Float>) -> SampledToken {
        precondition(logits.count == vocabulary.size, "expected \(vocabulary.size) logits, got \(logits.count)")
        let c = candidates
        c.load(logits: logits)
        run(c, masked: false)
        var admitsNothing = false
        if let constraint, let token = c.selectedToken, !constraint.allows(token) {
            c.load(logits: logits)
            admitsNothing = !run(c, masked: true)
        }
        let token = c.selectedToken ?? c.argmaxToken()
        if admitsNothing, let constraint {
            return SampledToken(token: token, probabilities: nil, constraintAdmitsNothing: true,
                                constraintCouldEnd: vocabulary.eosTokens.contains { constraint.allows($0) })
        }
        guard nProbs > 0 else { return SampledToken(token: token, probabilities: nil) }
        return SampledToken(token: token, probabilities: probabilities(token: token, logits: logits))
    }

    /// A token chosen outside the chain (a reasoning budget forcing the end of thinking): nothing
    /// is drawn and no stage runs. With `n_probs` the report shows the raw distribution and, as the
    /// distribution the token came from, all of the probability on `token` (llama.cpp forces a
    /// token by masking every other one, which leaves the same distribution).
    public func forced(_ token: Int32, logits: UnsafeBufferPointer<Float>) -> SampledToken {
        precondition(logits.count == vocabulary.size, "expected \(vocabulary.size) logits, got \(logits.count)")
        guard nProbs > 0 else { return SampledToken(token: token, probabilities: nil) }
        let (pre, preSelected) = denseTop(logits.baseAddress!, token: token, n: nProbs)
        let certain = TokenProbability(token: token, probability: 1, logprob: 0)
        return SampledToken(token: token, probabilities: TokenProbabilities(
            token: token, selectedPreSampling: preSelected, selectedPostSampling: certain,
            preSampling: pre, postSampling: [certain]))
    }

    /// Convenience overload for arrays.
    public func sample(logits: [Float]) -> SampledToken {
        logits.withUnsafeBufferPointer { sample(logits: $0) }
    }

    /// Records the emitted token in every stage and the constraint.
    public func accept(_ token: Int32) {
        for s in prefix { s.accept(token) }
        for s in samplers { s.accept(token) }
        constraint?.accept(token)
    }

    /// Back to the initial state: history cleared, generator reseeded with `seed`, constraint reset.
    public func reset() {
        for s in prefix { s.reset() }
        for s in samplers { s.reset() }
        constraint?.reset()
        rng.reseed(seed)
    }

    /// Runs the stages; with `masked`, the constraint's mask after the prefix (logit bias,
    /// penalties). Returns false when the mask left no finite logit: every token the constraint
    /// allows was already ruled out (a complete grammar whose end is banned), so whatever the
    /// samplers then pick is not a real choice.
    @discardableResult
    private func run(_ c: TokenCandidates, masked: Bool) -> Bool {
        for s in prefix { s.apply(to: c, rng: &rng) }
        var possible = true
        if masked, let constraint {
            if c.isDense {
                constraint.maskDisallowed(c.dense)
            } else {
                for i in 0..<c.count where !constraint.allows(c.storage[i].id) { c.storage[i].logit = -.infinity }
                c.logitsChanged(orderPreserved: false)
            }
            possible = c.maxLogit() > -.infinity
        }
        for s in samplers {
            s.apply(to: c, rng: &rng)
            if c.selectedIndex != nil { break }
        }
        return possible
    }

    private func probabilities(token: Int32, logits: UnsafeBufferPointer<Float>) -> TokenProbabilities {
        let n = nProbs
        // Pre-sampling: softmax over the raw logits.
        let base = logits.baseAddress!
        let (pre, preSelected) = denseTop(base, token: token, n: n)
        // Post-sampling: the distribution the token came from.
        let c = candidates
        var post: [TokenProbability] = []
        let postSelected: TokenProbability
        if c.isDense {
            (post, postSelected) = denseTop(c.denseLogits, token: token, n: n)
        } else {
            c.softmax()
            var sel = TokenProbability(token: token, probability: 0, logprob: -.infinity)
            for i in 0..<c.count where c.storage[i].id == token {
                let p = c.storage[i].p
                sel = TokenProbability(token: token, probability: p, logprob: logf(p))
            }
            postSelected = sel
            let m = min(n, c.count)
            c.ensureSortedPrefix(m)
            post.reserveCapacity(m)
            for i in 0..<m {
                let p = c.storage[i].p
                post.append(TokenProbability(token: c.storage[i].id, probability: p, logprob: logf(p)))
            }
        }
        return TokenProbabilities(token: token, selectedPreSampling: preSelected, selectedPostSampling: postSelected,
                                  preSampling: pre, postSampling: post)
    }

    /// Top-n softmax probabilities of a dense logit vector, plus the given token's.
    private func denseTop(_ x: UnsafePointer<Float>, token: Int32, n: Int) -> ([TokenProbability], TokenProbability) {
        let size = vocabulary.size
        let m = FastMath.maximum(x, size)
        let z = FastMath.expSum(x, size, shift: m)
        let logZ = Float(log(z))
        func entry(_ t: Int32, _ l: Float) -> TokenProbability {
            let lp = (l - m) - logZ
            return TokenProbability(token: t, probability: expf(lp), logprob: lp)
        }
        let k = FastMath.topK(x, size, k: n, into: probabilityScratch)
        var out: [TokenProbability] = []
        out.reserveCapacity(k)
        for i in 0..<k { out.append(entry(probabilityScratch[i].id, probabilityScratch[i].logit)) }
        return (out, entry(token, x[Int(token)]))
    }
}
