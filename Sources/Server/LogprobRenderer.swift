import Sampling
import Tokenization

/// OpenAI `logprobs` from the engine's per-token probabilities (raw-softmax, before sampling).
struct LogprobRenderer: Sendable {
    let tokenizer: Tokenizer
    /// How many alternatives to list per token.
    let top: Int

    private func text(_ id: Int32) -> String { tokenizer.pieceString(id, special: false) }

    func chat(_ p: TokenProbabilities) -> ChatTokenLogprobJSON {
        let t = text(p.token)
        return ChatTokenLogprobJSON(
            token: t, logprob: p.selectedPreSampling.logprob, bytes: Array(t.utf8),
            top_logprobs: p.preSampling.prefix(top).map {
                let s = text($0.token)
                return TopLogprobJSON(token: s, logprob: $0.logprob, bytes: Array(s.utf8))
            })
    }

    func legacy(_ list: [TokenProbabilities], startOffset: Int) -> CompletionLogprobsJSON {
        var offset = startOffset
        var out = CompletionLogprobsJSON(tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [])
        for p in list {
            let t = text(p.token)
            out.tokens.append(t)
            out.token_logprobs.append(p.selectedPreSampling.logprob)
            var alternatives: [String: Float] = [:]
            for c in p.preSampling.prefix(max(top, 1)) { alternatives[text(c.token)] = c.logprob }
            out.top_logprobs.append(alternatives)
            out.text_offset.append(offset)
            offset += t.count
        }
        return out
    }
}
