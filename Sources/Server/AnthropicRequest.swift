import Foundation
import JSON
import Serving

/// A POST /v1/messages (or /v1/messages/count_tokens) body, checked and rewritten as the OpenAI
/// chat body that `ChatRequest` reads, as llama-server converts it: `system` becomes a system
/// message, `tool_use` blocks the assistant's `tool_calls`, `tool_result` blocks `tool`
/// messages, `thinking` blocks `reasoning_content`, and the tools and options their OpenAI
/// names. Sampling values keep their names, so `ChatRequest` range-checks them as on the OpenAI
/// route.
struct AnthropicRequest {
    /// The OpenAI-shaped chat body.
    var chatFields: JSONFields
    /// `stop_sequences`: a reply stopped by one of these reports `stop_sequence`.
    var stopSequences: [String]

    /// llama-server's `max_tokens` when a request leaves it out (Anthropic requires it).
    static let defaultMaxTokens = 4096
    /// llama-server's thinking budget when `thinking` is enabled without `budget_tokens`.
    static let defaultThinkingBudget = 10000

    init(_ f: JSONFields) throws(APIError) {
        var chat: [(key: String, value: JSONValue)] = []
        var messages: [JSONValue] = []
        if let system = f["system"] {
            messages.append(.object([("role", "system"), ("content", .string(try Self.systemText(system)))]))
        }
        guard let raw = try f.array("messages") else { throw .badRequest("Missing required field 'messages'") }
        for (i, message) in raw.enumerated() { messages += try Self.chatMessages(message, at: i) }
        chat.append(("messages", .array(messages)))
        if let tools = try f.array("tools") {
            var converted: [JSONValue] = []
            for (i, tool) in tools.enumerated() { converted.append(try Self.function(tool, at: i)) }
            chat.append(("tools", .array(converted)))
        }
        if let choice = try f.object("tool_choice") { chat.append(("tool_choice", try Self.toolChoice(choice))) }
        stopSequences = try f.stringList("stop_sequences") ?? []
        if !stopSequences.isEmpty { chat.append(("stop", .array(stopSequences.map { .string($0) }))) }
        chat.append(("max_tokens", f["max_tokens"] ?? .int(Self.defaultMaxTokens)))
        for key in ["temperature", "top_p", "top_k", "stream", "chat_template_kwargs"] {
            if let value = f[key] { chat.append((key, value)) }
        }
        if let thinking = try f.object("thinking") {
            switch try thinking.string("type") {
            case "enabled"?:
                let budget = try thinking.int("budget_tokens", in: 0...ReasoningBudget.maxTokens) ?? Self.defaultThinkingBudget
                chat.append(("thinking_budget_tokens", .int(budget)))
            case "disabled"?: break
            case let other:
                throw .badRequest("thinking.type must be 'enabled' or 'disabled', got \(other.map { "'\($0)'" } ?? "nothing")")
            }
        }
        // Anthropic's user id for abuse tracking: nothing a local server acts on.
        _ = try f.object("metadata")
        chatFields = JSONFields(object: .object(chat))
    }

    /// `system`: a string, or text blocks joined as llama-server joins them (with nothing between).
    private static func systemText(_ system: JSONValue) throws(APIError) -> String {
        let text: String
        switch system {
        case .string(let s): text = s
        case .array(let blocks):
            var joined = ""
            for block in blocks {
                guard case .string("text")? = block["type"], case .string(let t)? = block["text"] else {
                    throw .badRequest("'system' blocks must be text blocks: {\"type\": \"text\", \"text\": …}")
                }
                joined += t
            }
            text = joined
        default: throw JSONFields.typeError("system", "a string or an array of text blocks")
        }
        return steadyBillingHeader(text)
    }

    /// Claude Code starts its system prompt with a billing header whose `cch=` hash changes on
    /// every request, so no two prompts would share a cached prefix; as llama-server, the hash is
    /// replaced by a constant.
    static func steadyBillingHeader(_ text: String) -> String {
        let prefix = "x-anthropic-billing-header:"
        guard text.hasPrefix(prefix),
              let marker = text[text.index(text.startIndex, offsetBy: prefix.count)...].range(of: "cch=") else { return text }
        let hash = marker.upperBound
        guard let end = text.index(hash, offsetBy: 5, limitedBy: text.endIndex), end < text.endIndex, text[end] == ";" else {
            return text
        }
        return text.replacingCharacters(in: hash..<end, with: "fffff")
    }

    /// One Anthropic message as the chat messages it stands for: an assistant turn (text,
    /// thoughts and tool calls in one message), or a user turn whose tool results become `tool`
    /// messages, in the order the blocks come.
    private static func chatMessages(_ message: JSONValue, at i: Int) throws(APIError) -> [JSONValue] {
        guard case .object = message else { throw JSONFields.typeError("messages", "an array of objects") }
        guard case .string(let role)? = message["role"] else { throw .badRequest("messages[\(i)] needs a string 'role'") }
        guard role == "user" || role == "assistant" else {
            throw .badRequest("messages[\(i)].role must be 'user' or 'assistant', got '\(role)' (the system prompt goes in 'system')")
        }
        let blocks: [JSONValue]
        switch message["content"] {
        case .string(let text)?: return [.object([("role", .string(role)), ("content", .string(text))])]
        case .array(let b)?: blocks = b
        default: throw .badRequest("messages[\(i)].content must be a string or an array of content blocks")
        }
        var out: [JSONValue] = []
        var texts: [JSONValue] = []
        var calls: [JSONValue] = []
        var reasoning = ""
        for (j, block) in blocks.enumerated() {
            let place = "messages[\(i)].content[\(j)]"
            guard case .object = block, case .string(let type)? = block["type"] else {
                throw .badRequest("\(place) must be a content block: an object with a string 'type'")
            }
            switch type {
            case "text":
                texts.append(.object([("type", "text"), ("text", .string(try string(block, "text", place)))]))
            case "thinking":
                guard role == "assistant" else { throw .badRequest("\(place): thinking blocks belong to assistant messages") }
                reasoning += try string(block, "thinking", place)
            case "redacted_thinking":
                // Thoughts Anthropic encrypted: nothing a local model can read.
                continue
            case "tool_use":
                guard role == "assistant" else { throw .badRequest("\(place): tool_use blocks belong to assistant messages") }
                calls.append(try toolCall(block, place))
            case "tool_result":
                guard role == "user" else { throw .badRequest("\(place): tool_result blocks belong to user messages") }
                if !texts.isEmpty { out.append(.object([("role", "user"), ("content", .array(texts))])) }
                texts = []
                out.append(try toolMessage(block, place))
            case "image":
                throw imageUnsupported
            default:
                throw .badRequest("\(place): unsupported content block type '\(type)' (supported: text, thinking, tool_use, tool_result)")
            }
        }
        if role == "assistant" {
            guard !texts.isEmpty || !calls.isEmpty || !reasoning.isEmpty else { return [] }
            var members: [(key: String, value: JSONValue)] = [("role", "assistant"), ("content", texts.isEmpty ? "" : .array(texts))]
            if !calls.isEmpty { members.append(("tool_calls", .array(calls))) }
            if !reasoning.isEmpty { members.append(("reasoning_content", .string(reasoning))) }
            return [.object(members)]
        }
        if !texts.isEmpty { out.append(.object([("role", "user"), ("content", .array(texts))])) }
        return out
    }

    /// A `tool_use` block as an OpenAI tool call, its `input` object as the arguments' JSON text.
    private static func toolCall(_ block: JSONValue, _ place: String) throws(APIError) -> JSONValue {
        let input = block["input"] ?? .object([])
        guard case .object = input else { throw .badRequest("\(place).input must be an object") }
        return .object([("id", .string(try string(block, "id", place))), ("type", "function"),
                        ("function", .object([("name", .string(try string(block, "name", place))),
                                              ("arguments", .string(input.serialized()))]))])
    }

    /// A `tool_result` block as a `tool` message. Its content is a string or text blocks (joined
    /// with nothing between, as llama-server joins them); `is_error` changes nothing, as there.
    private static func toolMessage(_ block: JSONValue, _ place: String) throws(APIError) -> JSONValue {
        let id = try string(block, "tool_use_id", place)
        var text = ""
        switch block["content"] {
        case nil, .null?: break
        case .string(let s)?: text = s
        case .array(let parts)?:
            for (k, part) in parts.enumerated() {
                switch part["type"] {
                case .string("text")?: text += try string(part, "text", "\(place).content[\(k)]")
                case .string("image")?: throw imageUnsupported
                default: throw .badRequest("\(place).content[\(k)] must be a text block")
                }
            }
        default: throw .badRequest("\(place).content must be a string or an array of text blocks")
        }
        if case let flag? = block["is_error"], flag != .null, flag.boolValue == nil {
            throw .badRequest("\(place).is_error must be a boolean")
        }
        return .object([("role", "tool"), ("tool_call_id", .string(id)), ("content", .string(text))])
    }

    /// The words llama-server answers an image with when it has no vision model loaded.
    private static let imageUnsupported = APIError.badRequest(
        "image input is not supported: this server has no multimodal projector")

    /// An Anthropic tool (`name`, `description`, `input_schema`) as an OpenAI function tool.
    /// Anthropic's own server tools (web search, code execution, …) run on Anthropic's side
    /// and have no counterpart here.
    private static func function(_ tool: JSONValue, at i: Int) throws(APIError) -> JSONValue {
        let place = "tools[\(i)]"
        guard case .object = tool else { throw JSONFields.typeError("tools", "an array of objects") }
        if case let type? = tool["type"], type != .null, type != .string("custom") {
            throw .badRequest("\(place): only custom tools ({name, description, input_schema}) are supported, not '\(type.stringValue ?? type.serialized())'")
        }
        var function: [(key: String, value: JSONValue)] = [("name", .string(try string(tool, "name", place)))]
        switch tool["description"] {
        case nil, .null?: break
        case .string(let d)?: function.append(("description", .string(d)))
        default: throw .badRequest("\(place).description must be a string")
        }
        switch tool["input_schema"] {
        case nil, .null?: break
        case let schema? where schema.objectMembers != nil: function.append(("parameters", schema))
        default: throw .badRequest("\(place).input_schema must be an object (a JSON schema)")
        }
        return .object([("type", "function"), ("function", .object(function))])
    }

    /// `tool_choice` as OpenAI's: auto, any (some tool: `required`), tool (the named one), none.
    private static func toolChoice(_ choice: JSONFields) throws(APIError) -> JSONValue {
        // Checked, not used: as on llama-server, a reply makes one call at a time whatever it says.
        _ = try choice.bool("disable_parallel_tool_use")
        switch try choice.string("type") {
        case "auto"?: return "auto"
        case "any"?: return "required"
        case "none"?: return "none"
        case "tool"?:
            guard let name = try choice.string("name") else { throw .badRequest("tool_choice of type 'tool' needs a 'name'") }
            return .object([("type", "function"), ("function", .object([("name", .string(name))]))])
        case let other:
            throw .badRequest("tool_choice.type must be 'auto', 'any', 'tool' or 'none', got \(other.map { "'\($0)'" } ?? "nothing")")
        }
    }

    private static func string(_ object: JSONValue, _ key: String, _ place: String) throws(APIError) -> String {
        guard case .string(let s)? = object[key] else { throw .badRequest("\(place) needs a string '\(key)'") }
        return s
    }
}
