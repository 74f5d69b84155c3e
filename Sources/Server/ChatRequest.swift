import JSON
import Sampling
import Serving

/// A decoded POST /v1/chat/completions body: the messages for the template plus the options.
struct ChatRequest {
    var messages: [JSONValue]
    /// Generation prompt or assistant prefill; a prefilled message is not in `messages`.
    var continuation: ChatContinuation
    var tools: [JSONValue]?
    /// `tool_choice` (default `auto`).
    var toolChoice = ToolChoice.auto
    /// `parallel_tool_calls`: false by default, as llama-server (OpenAI defaults to true).
    var parallelToolCalls = false
    /// `chat_template_kwargs`: extra template variables (`enable_thinking`, …).
    var templateVariables: [String: JSONValue] = [:]
    /// `reasoning_format`, overriding `--reasoning-format`.
    var reasoningFormat: ReasoningFormat?
    /// `reasoning_budget_tokens` (or `thinking_budget_tokens`), overriding `--reasoning-budget`;
    /// nil (or -1 in the request) keeps the server's.
    var reasoningBudget: Int?
    /// `reasoning_budget_message`, overriding `--reasoning-budget-message`.
    var reasoningBudgetMessage: String?
    var options: CompletionOptions
    var logprobs = false
    var topLogprobs = 0
    var includeUsage = false
    /// `n`: independent completions of the same prompt.
    var choiceCount = 1
    static let maxChoices = 16

    /// `allowsNoMessages`: an empty `messages` renders an empty conversation (llama-server's
    /// Anthropic route accepts one; its OpenAI route does not).
    init(_ f: JSONFields, vocabularySize: Int, defaults: SamplingParameters = SamplingParameters(), adapterCount: Int = 0,
         allowsNoMessages: Bool = false) throws(APIError) {
        guard let raw = try f.array("messages") else { throw .badRequest("Missing required field 'messages'") }
        guard !raw.isEmpty || allowsNoMessages else { throw .badRequest("'messages' must not be empty") }
        continuation = try ChatContinuation(f, messages: raw)
        messages = try raw.map { m throws(APIError) in try Self.message(m) }
        if continuation.prefill != nil { messages.removeLast() }
        if let t = try f.array("tools"), !t.isEmpty { tools = t }
        toolChoice = try ToolChoice(f["tool_choice"])
        parallelToolCalls = try f.bool("parallel_tool_calls") ?? false
        if let kwargs = f["chat_template_kwargs"] {
            guard case .object(let members) = kwargs else { throw JSONFields.typeError("chat_template_kwargs", "an object") }
            for (key, value) in members { templateVariables[key] = value }
        }
        if let rf = try f.string("reasoning_format") {
            guard let format = ReasoningFormat(rawValue: rf) else {
                throw .badRequest("reasoning_format must be none, deepseek, deepseek-legacy or auto, got '\(rf)'")
            }
            reasoningFormat = format
        }
        // As llama-server: the first name wins, and -1 means "the server's budget".
        let budgetRange = -1...ReasoningBudget.maxTokens
        var budget = try f.int("reasoning_budget_tokens", in: budgetRange)
        if budget == nil { budget = try f.int("thinking_budget_tokens", in: budgetRange) }
        if let budget, budget >= 0 { reasoningBudget = budget }
        reasoningBudgetMessage = try f.string("reasoning_budget_message")
        options = try CompletionOptions(f, vocabularySize: vocabularySize, defaults: defaults, adapterCount: adapterCount)
        var maxTokens = try f.int("max_completion_tokens", in: 0...Int(Int32.max))
        if maxTokens == nil { maxTokens = try f.int("max_tokens", in: 0...Int(Int32.max)) }
        if let n = maxTokens { options.predictLimit = n }
        if let n = try f.int("n") {
            guard (1...Self.maxChoices).contains(n) else { throw .badRequest("n must be between 1 and \(Self.maxChoices), got \(n)") }
            choiceCount = n
        }
        logprobs = try f.bool("logprobs") ?? false
        topLogprobs = try f.int("top_logprobs") ?? 0
        guard (0...20).contains(topLogprobs) else { throw .badRequest("top_logprobs must be between 0 and 20, got \(topLogprobs)") }
        if topLogprobs > 0 && !logprobs { throw .badRequest("top_logprobs requires logprobs to be true") }
        if logprobs { options.sampling.nProbs = max(1, topLogprobs) }
        if let so = try f.object("stream_options") { includeUsage = try so.bool("include_usage") ?? false }
        if let format = try f.object("response_format") { try applyResponseFormat(format) }
    }

    /// `response_format`: text, json_object (optionally with `schema`), or json_schema.
    private mutating func applyResponseFormat(_ format: JSONFields) throws(APIError) {
        switch try format.string("type") ?? "text" {
        case "text": return
        case "json_object":
            if let schema = format["schema"] { try options.useSchema(schema) } else { try options.useJSONObjectGrammar() }
        case "json_schema":
            guard let js = try format.object("json_schema") else {
                throw .badRequest("response_format json_schema needs {\"json_schema\": {\"name\": …, \"schema\": …}}")
            }
            // OpenAI makes `schema` optional; as llama-server, none means {} (any JSON value).
            try options.useSchema(js["schema"] ?? .object([]))
        case let other:
            throw .badRequest("Unsupported response_format type '\(other)' (expected text, json_object or json_schema)")
        }
    }

    /// A message with `role` and string content (text parts of a content array are joined).
    /// OpenAI's `developer` role (its name for `system` since the o1 models) becomes `system`:
    /// chat templates know only the latter, and strict ones reject any other role.
    static func message(_ m: JSONValue) throws(APIError) -> JSONValue {
        guard case .object(var members) = m else { throw JSONFields.typeError("messages", "an array of objects") }
        guard case .string(let role)? = m["role"] else { throw .badRequest("Each message needs a string 'role'") }
        if role == "developer", let i = members.firstIndex(where: { $0.key == "role" }) {
            members[i].value = .string("system")
        }
        switch m["content"] {
        case nil, .null?, .string?, .array?: break
        default: throw .badRequest("Expected 'content' to be a string or an array")
        }
        if let i = members.firstIndex(where: { $0.key == "content" }), case .array(let parts) = members[i].value {
            var text = ""
            for part in parts {
                guard case .string(let t)? = part["text"] else {
                    throw .badRequest("Only text content parts are supported in messages")
                }
                text += text.isEmpty ? t : "\n" + t
            }
            members[i].value = .string(text)
        }
        return .object(members)
    }
}
