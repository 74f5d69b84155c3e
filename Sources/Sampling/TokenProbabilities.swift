import Foundation

/// A token with its probability and natural-log probability.
public struct TokenProbability: Sendable, Equatable {
    public var token: Int32
    public var probability: Float
    /// ln(probability), computed without underflow for very unlikely tokens.
    public var logprob: Float

    public init(token: Int32, probability: Float, logprob: Float) {
        self.token = token
        self.probability = probability
        self.logprob = logprob
    }
}

/// Per-token probability report for `n_probs` (the spec's `completion_probabilities`) and OpenAI
/// `logprobs` / `top_logprobs`.
///
/// - `preSampling`: softmax of the raw model logits (before bias, penalties, grammar and the
///   sampler chain) — what OpenAI `logprobs` means.
/// - `postSampling`: the distribution the token was actually drawn from (renormalised over the
///   candidates that survived the chain); this is what llama-server's `completion_probabilities`
///   `probs` reported in the spec's version. For greedy decoding it is the softmax over the whole
///   biased/penalised vocabulary.
/// Both lists are sorted by descending probability and hold at most `n_probs` entries (the post
/// list may be shorter when fewer candidates survived).
public struct TokenProbabilities: Sendable, Equatable {
    /// The emitted token.
    public var token: Int32
    /// The emitted token's raw-softmax probability.
    public var selectedPreSampling: TokenProbability
    /// The emitted token's probability in the final candidate distribution.
    public var selectedPostSampling: TokenProbability
    public var preSampling: [TokenProbability]
    public var postSampling: [TokenProbability]
}

/// What `SamplerChain.sample` returns: the token, plus probabilities when `n_probs` > 0.
public struct SampledToken: Sendable, Equatable {
    public var token: Int32
    public var probabilities: TokenProbabilities?
    /// The constraint allows no token that is still possible: `token` breaks it and must not be
    /// emitted (and `probabilities` is nil).
    public var constraintAdmitsNothing = false
    /// With `constraintAdmitsNothing`: the constraint would accept end of generation here (a
    /// finished grammar whose end is banned by `ignore_eos` or a logit bias), rather than being
    /// cut off mid-way (a logit bias banned every token it allows).
    public var constraintCouldEnd = false
}
