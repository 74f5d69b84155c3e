/// OpenAI `usage`.
struct UsageJSON: Encodable {
    var prompt_tokens: Int
    var completion_tokens: Int
    var total_tokens: Int

    init(prompt: Int, completion: Int) {
        prompt_tokens = prompt
        completion_tokens = completion
        total_tokens = prompt + completion
    }
}

/// One candidate in OpenAI logprobs.
struct TopLogprobJSON: Encodable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
}

/// One token in chat `logprobs.content`.
struct ChatTokenLogprobJSON: Encodable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
    var top_logprobs: [TopLogprobJSON]
}

struct ChatLogprobsJSON: Encodable {
    var content: [ChatTokenLogprobJSON]
}

/// One tool call in a reply (`message.tool_calls[i]`).
struct ToolCallJSON: Encodable {
    struct Function: Encodable {
        var name: String
        var arguments: String
    }
    var id: String
    var type = "function"
    var function: Function
}

struct ChatMessageJSON: Encodable {
    var role = "assistant"
    var content: String?
    var reasoning_content: String?
    var tool_calls: [ToolCallJSON]?

    init(content: String) { self.content = content }

    /// `content` is null when the reply is only tool calls, as OpenAI sends it.
    init(_ m: ParsedMessage) {
        content = m.content.isEmpty && !m.toolCalls.isEmpty ? nil : m.content
        reasoning_content = m.reasoning.isEmpty ? nil : m.reasoning
        tool_calls = m.toolCalls.isEmpty ? nil : m.toolCalls.map {
            ToolCallJSON(id: $0.id ?? ChatOutputParser.newID(), function: .init(name: $0.name, arguments: $0.arguments))
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(role, forKey: .role)
        try c.encode(content, forKey: .content)
        try c.encodeIfPresent(reasoning_content, forKey: .reasoning_content)
        try c.encodeIfPresent(tool_calls, forKey: .tool_calls)
    }
    enum CodingKeys: CodingKey { case role, content, reasoning_content, tool_calls }
}

/// A piece of a tool call in a stream: the first carries id, type and name, later ones more
/// of the arguments.
struct ToolCallDeltaJSON: Encodable {
    struct Function: Encodable {
        var name: String?
        var arguments: String
    }
    var index: Int
    var id: String?
    var type: String?
    var function: Function
}

struct ChatChoiceJSON: Encodable {
    var index = 0
    var message: ChatMessageJSON
    var finish_reason: String
    var logprobs: ChatLogprobsJSON?
}

/// `chat.completion`.
struct ChatCompletionJSON: Encodable {
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var system_fingerprint: String
    var choices: [ChatChoiceJSON]
    var usage: UsageJSON
    /// Today's llama-server: with `"verbose": true` (or `--verbose`), the native /completion
    /// result, whose `prompt` is the text the chat template produced.
    var __verbose: CompletionResponse?
}

struct ChatDeltaJSON: Encodable {
    var role: String?
    var content: String?
    var reasoning_content: String?
    var tool_calls: [ToolCallDeltaJSON]?

    init(role: String? = nil, content: String? = nil) {
        self.role = role
        self.content = content
    }

    init(_ d: ChatOutputDelta) {
        content = d.content
        reasoning_content = d.reasoning
        if !d.toolCalls.isEmpty {
            tool_calls = d.toolCalls.map {
                ToolCallDeltaJSON(index: $0.index, id: $0.id, type: $0.id == nil ? nil : "function",
                                  function: .init(name: $0.name, arguments: $0.arguments))
            }
        }
    }

    // The opening delta names the role with `"content": null`, as today's llama-server sends it.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(role, forKey: .role)
        if role != nil { try c.encode(content, forKey: .content) } else { try c.encodeIfPresent(content, forKey: .content) }
        try c.encodeIfPresent(reasoning_content, forKey: .reasoning_content)
        try c.encodeIfPresent(tool_calls, forKey: .tool_calls)
    }
    enum Keys: CodingKey { case role, content, reasoning_content, tool_calls }
}

struct ChatChunkChoiceJSON: Encodable {
    var index = 0
    var delta: ChatDeltaJSON
    var finish_reason: String?
    var logprobs: ChatLogprobsJSON?

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(delta, forKey: .delta)
        try c.encode(finish_reason, forKey: .finish_reason) // null until the last chunk
        try c.encodeIfPresent(logprobs, forKey: .logprobs)
    }
    enum CodingKeys: CodingKey { case index, delta, finish_reason, logprobs }
}

/// `chat.completion.chunk`.
struct ChatCompletionChunkJSON: Encodable {
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var system_fingerprint: String
    var choices: [ChatChunkChoiceJSON]
    var usage: UsageJSON?
    /// Today's llama-server: the final usage chunk also carries the request's timings.
    var timings: TimingsJSON?
}

/// `logprobs` of a legacy completion choice.
struct CompletionLogprobsJSON: Encodable {
    var tokens: [String]
    var token_logprobs: [Float]
    var top_logprobs: [[String: Float]]
    var text_offset: [Int]
}

struct TextChoiceJSON: Encodable {
    var text: String
    var index = 0
    var logprobs: CompletionLogprobsJSON?
    var finish_reason: String?

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(index, forKey: .index)
        try c.encode(logprobs, forKey: .logprobs)
        try c.encode(finish_reason, forKey: .finish_reason)
    }
    enum CodingKeys: CodingKey { case text, index, logprobs, finish_reason }
}

/// `text_completion` (also its stream chunks).
struct TextCompletionJSON: Encodable {
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var system_fingerprint: String
    var choices: [TextChoiceJSON]
    var usage: UsageJSON?
    /// With `timings_per_token`: the timings so far (streamed chunks).
    var timings: TimingsJSON?
}

/// GET /v1/models.
struct ModelListJSON: Encodable {
    struct Meta: Encodable, Sendable {
        var vocab_type: Int
        var n_vocab: Int
        var n_ctx_train: Int
        var n_embd: Int
        var size: Int
        /// Today's llama-server additions: a slot's context and the weight count.
        var n_ctx: Int
        var n_params: Int
    }
    struct Model: Encodable, Sendable {
        var id: String
        /// Today's llama-server: every `-a` name and the `--tags`.
        var aliases: [String]
        var tags: [String]
        var object = "model"
        var created: Int
        var owned_by = "llamacpp"
        var meta: Meta
    }
    var object = "list"
    var data: [Model]
}
