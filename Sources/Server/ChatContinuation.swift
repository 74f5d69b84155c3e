import JSON

/// How a chat prompt ends (today's llama-server): with the assistant-turn opener
/// (`add_generation_prompt`, default true), or by continuing a final assistant message that the
/// model should carry on from (`continue_final_message`, or implicitly when the last message is
/// the assistant's: "assistant prefill").
struct ChatContinuation {
    /// Whether the template appends the assistant-turn opener.
    var addGenerationPrompt = true
    /// Text of a final assistant message to continue; the template then renders the messages
    /// before it, with the opener, and this text follows.
    var prefill: String?
    /// The continued message's `reasoning_content`, for formats whose prompt carries thoughts
    /// (Harmony's analysis channel).
    var prefillReasoning: String?

    /// Reads `add_generation_prompt` and `continue_final_message` against the raw `messages`.
    init(_ f: JSONFields, messages: [JSONValue]) throws(APIError) {
        addGenerationPrompt = try f.bool("add_generation_prompt") ?? true
        let explicit = try f.bool("continue_final_message")
        let lastIsAssistant = messages.last.map(Self.isAssistant) ?? false
        if explicit == true && addGenerationPrompt && f.has("add_generation_prompt") {
            throw .badRequest("Cannot set both add_generation_prompt and continue_final_message to true.")
        }
        guard lastIsAssistant, explicit ?? true else { return }
        if explicit == nil, messages.count >= 2, Self.isAssistant(messages[messages.count - 2]) {
            throw .badRequest("Cannot have 2 or more assistant messages at the end of the list.")
        }
        prefill = try Self.text(of: messages[messages.count - 1])
        if case .string(let r)? = messages[messages.count - 1]["reasoning_content"] { prefillReasoning = r }
        addGenerationPrompt = true
    }

    private static func isAssistant(_ m: JSONValue) -> Bool {
        if case .string("assistant")? = m["role"] { return true }
        return false
    }

    /// A message's text; content parts are joined by a blank line, as llama-server joins them.
    private static func text(of m: JSONValue) throws(APIError) -> String {
        switch m["content"] {
        case .string(let s)?: return s
        case .array(let parts)?:
            var texts: [String] = []
            for part in parts {
                guard case .string(let t)? = part["text"] else { throw .badRequest("Only text content parts are supported in messages") }
                texts.append(t)
            }
            return texts.joined(separator: "\n\n")
        case nil, .null?: return ""
        default: throw .badRequest("Expected 'content' to be a string or an array")
        }
    }
}
