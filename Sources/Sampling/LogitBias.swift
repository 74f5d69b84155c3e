/// How a `logit_bias` entry names its target: a token id or a string the caller tokenizes.
public enum LogitBiasTarget: Sendable, Equatable {
    case token(Int)
    case text(String)
}

/// A `logit_bias` value: a number added to the logit, or `false` (never produce the token).
public enum LogitBiasValue: Sendable, Equatable {
    case add(Float)
    case ban
}

/// One `logit_bias` entry, e.g. `[15043, 1.0]`, `[15043, false]` or `["Hello", -0.5]`.
public struct LogitBiasEntry: Sendable, Equatable {
    public var target: LogitBiasTarget
    public var value: LogitBiasValue

    public init(_ target: LogitBiasTarget, _ value: LogitBiasValue) {
        self.target = target
        self.value = value
    }
}

/// Logit bias: l_i ← l_i + b_i (b_i = −∞ for banned tokens, including EOS under `ignore_eos`).
///
/// Entries are resolved to token ids once, at construction; applying is O(#entries).
public final class LogitBiasSampler: Sampler {
    /// Resolved (token, additive bias) pairs; a token may appear more than once (biases add up).
    public let biases: [(token: Int32, bias: Float)]
    public var name: String { "logit_bias" }

    public init(biases: [(token: Int32, bias: Float)]) {
        self.biases = biases
    }

    /// Resolves spec-level entries: text targets are tokenized by `tokenize` and the bias is
    /// applied to each of their tokens; out-of-range ids are dropped (validate() reports them).
    public convenience init(entries: [LogitBiasEntry], vocabularySize: Int,
                            tokenize: ((String) -> [Int32])?) {
        var out: [(token: Int32, bias: Float)] = []
        for e in entries {
            let bias: Float
            switch e.value {
            case .add(let b): bias = b
            case .ban: bias = -.infinity
            }
            switch e.target {
            case .token(let t):
                if t >= 0 && t < vocabularySize { out.append((Int32(t), bias)) }
            case .text(let s):
                for t in tokenize?(s) ?? [] where t >= 0 && Int(t) < vocabularySize {
                    out.append((t, bias))
                }
            }
        }
        self.init(biases: out)
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        for (t, b) in biases { c.adjustLogit(of: t, by: b) }
    }
}
