import JSON
import Tokenization

/// Turns a `prompt` (string, or array of strings and token ids) into tokens the way
/// llama-server does: BOS first when the prompt starts with a string, the model adds BOS,
/// and no system prompt is set; strings later in an array get no BOS.
struct PromptTokenizer {
    let tokenizer: Tokenizer
    let hasSystemPrompt: Bool

    func tokens(_ prompt: JSONValue, field: String = "prompt") throws(APIError) -> (tokens: [Int32], text: String) {
        switch prompt {
        case .string(let s):
            return (tokenizer.tokenize(s, addSpecial: !hasSystemPrompt, parseSpecial: true), s)
        case .array(let items):
            var out: [Int32] = []
            var text = ""
            for (i, item) in items.enumerated() {
                switch item {
                case .string(let s):
                    out += tokenizer.tokenize(s, addSpecial: i == 0 && !hasSystemPrompt, parseSpecial: true)
                    text += s
                case .number:
                    guard let t = item.intValue, t >= 0, t < tokenizer.vocabularySize else {
                        throw .badRequest("Invalid token id in '\(field)': \(item) (vocabulary size \(tokenizer.vocabularySize))")
                    }
                    out.append(Int32(t))
                    text += tokenizer.pieceString(Int32(t))
                default:
                    throw JSONFields.typeError(field, "a string or an array of strings and token ids")
                }
            }
            return (out, text)
        case .object:
            // Today's llama-server: {"prompt_string": …, "multimodal_data": [base64, …]}.
            switch prompt["multimodal_data"] {
            case nil, .null?: break
            case .array(let items)? where items.isEmpty: break
            default:
                throw .badRequest("multimodal_data is not supported: this server has no multimodal projector")
            }
            guard case .string(let s)? = prompt["prompt_string"] else {
                throw JSONFields.typeError(field, "a string, an array of strings and token ids, or {\"prompt_string\": …}")
            }
            return try tokens(.string(s), field: field)
        default:
            throw JSONFields.typeError(field, "a string or an array of strings and token ids")
        }
    }
}
