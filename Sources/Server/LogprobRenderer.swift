import Sampling
import Tokenization

/// OpenAI `logprobs` from the engine's per-token probabilities (raw-softmax, before sampling).
struct LogprobRenderer: Sendable {
    let tokenizer: Tokenizer
    /// How many alternatives to list per token.
    let top: Int

    private func text(_ id: Int32) -> String { tokenizer.pieceString(id, special: false) }

    /// A token's own bytes: a token holding part of a character (byte-level vocabularies) has no
    /// text of its own, and `bytes` is how clients put such characters back together.
    private func bytes(_ id: Int32) -> [UInt8] { tokenizer.piece(id, special: false) }

    func chat(_ p: TokenProbabilities) -> ChatTokenLogprobJSON {
        ChatTokenLogprobJSON(
            token: text(p.token), logprob: p.selectedPreSampling.logprob, bytes: bytes(p.token),
            top_logprobs: p.preSampling.prefix(top).map {
                TopLogprobJSON(token: text($0.token), logprob: $0.logprob, bytes: bytes($0.token))
            })
    }

    /// `startOffset`: where the first token's text starts in the reply, in code points (what
    /// `text_offset` counts, as a Python client indexes the text); `legacyOffset` advances it.
    func legacy(_ list: [TokenProbabilities], startOffset: Int) -> CompletionLogprobsJSON {
        var offset = startOffset
        var out = CompletionLogprobsJSON(tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [])
        for p in list {
            out.tokens.append(text(p.token))
            out.token_logprobs.append(p.selectedPreSampling.logprob)
            var alternatives: [String: Float] = [:]
            for c in p.preSampling.prefix(max(top, 1)) { alternatives[text(c.token)] = c.logprob }
            out.top_logprobs.append(alternatives)
            out.text_offset.append(offset)
            offset = legacyOffset(after: p.token, from: offset)
        }
        return out
    }

    /// The offset after `token`'s text: code points begun by its bytes (a character split over
    /// several tokens counts once, at its first byte).
    func legacyOffset(after token: Int32, from offset: Int) -> Int {
        offset + bytes(token).reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }
}
