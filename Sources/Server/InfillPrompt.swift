import JSON
import Tokenization

/// The token layout of a POST /infill prompt.
///
/// Without `input_extra` it is the spec's: `[BOS] <FIM_PRE>prefix<FIM_SUF>suffix<FIM_MID>`.
/// With `input_extra` (today's llama-server: other files' text as context) the chunks come first,
/// in the repository-level layout (arXiv 2409.12186) when the vocabulary has the tokens for it:
/// `<FIM_REP>myproject\n <FIM_SEP>filename\n text … <FIM_SEP>filename\n`, else each chunk after a
/// `\n\n--- snippet ---\n\n` line; like llama-server, only the last
/// `max(0, n_ctx − n_batch − 2·n_predict)` tokens of that context are kept.
struct InfillPrompt {
    /// One `input_extra` entry.
    struct Chunk: Equatable {
        var filename: String
        var text: String
    }

    /// `input_extra`: an array of `{"text": string, "filename"?: string}`; errors as llama-server's.
    static func chunks(_ value: [JSONValue]?) throws(APIError) -> [Chunk] {
        guard let value else { return [] }
        var chunks: [Chunk] = []
        for entry in value {
            guard entry.objectMembers != nil, let text = entry["text"]?.stringValue else {
                throw .badRequest("extra_context chunk must contain a \"text\" field with a string value")
            }
            let filename = entry["filename"]
            if let filename, filename.stringValue == nil {
                throw .badRequest("extra_context chunk's \"filename\" field must be a string")
            }
            chunks.append(Chunk(filename: filename?.stringValue ?? "tmp", text: text))
        }
        return chunks
    }

    static func tokens(prefix: String, suffix: String, extra: [Chunk], tokenizer: Tokenizer, contextSize: Int,
                       batchSize: Int, predictLimit: Int) -> [Int32] {
        let v = tokenizer.vocabulary
        guard let pre = v.fimPrefix, let suf = v.fimSuffix, let mid = v.fimMiddle else { return [] }
        var tokens: [Int32] = []
        if !extra.isEmpty {
            let context = extraContext(extra, tokenizer: tokenizer)
            let keep = min(context.count, max(0, contextSize - batchSize - 2 * max(0, predictLimit)))
            tokens += context.suffix(keep)
        }
        if v.addBOS, let bos = v.bos { tokens.append(bos) }
        tokens.append(pre)
        tokens += tokenizer.tokenize(prefix, addSpecial: false)
        tokens.append(suf)
        tokens += tokenizer.tokenize(suffix, addSpecial: false)
        tokens.append(mid)
        return tokens
    }

    /// The other files' text, each chunk introduced by its file name (or a snippet line).
    private static func extraContext(_ extra: [Chunk], tokenizer: Tokenizer) -> [Int32] {
        let v = tokenizer.vocabulary
        var tokens: [Int32] = []
        if let repo = v.fimRepo {
            tokens.append(repo)
            tokens += tokenizer.tokenize("myproject\n", addSpecial: false)
        }
        for chunk in extra {
            if let separator = v.fimSeparator {
                tokens.append(separator)
                tokens += tokenizer.tokenize(chunk.filename + "\n", addSpecial: false)
            } else {
                tokens += tokenizer.tokenize("\n\n--- snippet ---\n\n", addSpecial: false)
            }
            tokens += tokenizer.tokenize(chunk.text, addSpecial: false)
        }
        if let separator = v.fimSeparator {
            tokens.append(separator)
            tokens += tokenizer.tokenize("filename\n", addSpecial: false)
        }
        return tokens
    }
}
