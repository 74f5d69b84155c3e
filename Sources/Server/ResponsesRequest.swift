import JSON

/// A POST /v1/responses (or /v1/responses/input_tokens) body — OpenAI's Responses API — checked
/// and rewritten as the OpenAI chat body that `ChatRequest` reads, as llama-server converts it:
/// `instructions` becomes a system message, `input` (a string, or a list of items) the messages,
/// function tools the chat's tools, `max_output_tokens` `max_tokens`, `reasoning.effort`
/// `reasoning_effort`. Every other field keeps its name, so sampling values are range-checked
/// as on the chat route. Stored responses (`previous_response_id`) are refused: nothing is kept.
struct ResponsesRequest {
    /// The OpenAI-shaped chat body.
    var chatFields: JSONFields

    init(_ f: JSONFields) throws(APIError) {
        guard let input = f["input"] else { throw .badRequest("Missing required field 'input'") }
        if let previous = try f.string("previous_response_id"), !previous.isEmpty {
            throw .badRequest("previous_response_id is not supported: this server keeps no responses; send the whole conversation in 'input'")
        }
        var messages: [JSONValue] = []
        if f.has("instructions") {
            messages.append(.object([("role", "system"), ("content", .string(try f.string("instructions") ?? ""))]))
        }
        switch input {
        case .string: messages.append(.object([("role", "user"), ("content", input)]))
        case .array(let items):
            for (i, item) in items.enumerated() { try Self.add(item, at: i, to: &messages) }
        default: throw JSONFields.typeError("input", "a string or an array of items")
        }
        let renamed: Set<String> = ["input", "instructions", "tools", "max_output_tokens", "reasoning", "previous_response_id"]
        var chat = (f.value.objectMembers ?? []).filter { !renamed.contains($0.key) }
        chat.append(("messages", .array(messages)))
        if let tools = try f.array("tools") {
            var functions: [JSONValue] = []
            for (i, tool) in tools.enumerated() { if let f = try Self.function(tool, at: i) { functions.append(f) } }
            if !functions.isEmpty { chat.append(("tools", .array(functions))) }
        }
        if let limit = f["max_output_tokens"] { chat.append(("max_tokens", limit)) }
        if let reasoning = try f.object("reasoning"), let effort = reasoning["effort"] {
            chat.append(("reasoning_effort", effort))
        }
        chatFields = JSONFields(object: .object(chat))
    }

    /// One input item as chat messages. An assistant item, function call or reasoning item that
    /// follows an assistant message joins it (one assistant turn), as llama-server merges them.
    private static func add(_ item: JSONValue, at i: Int, to messages: inout [JSONValue]) throws(APIError) {
        guard case .object = item else { throw JSONFields.typeError("input[\(i)]", "an object") }
        let type = item["type"]?.stringValue
        let role = item["role"]?.stringValue
        switch (type, role) {
        case (nil, "user"?), (nil, "system"?), (nil, "developer"?), ("message"?, "user"?), ("message"?, "system"?),
             ("message"?, "developer"?):
            messages.append(.object([("role", .string(role!)), ("content", try inputText(item["content"], at: i))]))
        case (nil, "assistant"?), ("message"?, "assistant"?):
            let text = try outputText(item["content"], at: i)
            appendAssistant(&messages, content: text)
        case ("function_call"?, _):
            guard let name = item["name"]?.stringValue, let callID = item["call_id"]?.stringValue,
                  let arguments = item["arguments"]?.stringValue else {
                throw .badRequest("input[\(i)]: a function_call item needs string 'name', 'call_id' and 'arguments'")
            }
            let call: JSONValue = .object([("id", .string(callID)), ("type", "function"),
                                           ("function", .object([("name", .string(name)), ("arguments", .string(arguments))]))])
            appendAssistant(&messages, toolCall: call)
        case ("function_call_output"?, _):
            guard let callID = item["call_id"]?.stringValue else {
                throw .badRequest("input[\(i)]: a function_call_output item needs a string 'call_id'")
            }
            let output: String
            switch item["output"] {
            case .string(let s)?: output = s
            case .array?: output = try inputText(item["output"], at: i).stringValue ?? ""
            default: throw .badRequest("input[\(i)]: a function_call_output item needs 'output' (a string or text parts)")
            }
            messages.append(.object([("role", "tool"), ("tool_call_id", .string(callID)), ("content", .string(output))]))
        case ("reasoning"?, _):
            guard let parts = item["content"]?.arrayValue, let text = parts.first?["text"]?.stringValue else {
                throw .badRequest("input[\(i)]: a reasoning item needs 'content' with a text part")
            }
            appendAssistant(&messages, reasoning: text)
        default:
            throw .badRequest("input[\(i)]: cannot tell what this item is (expected a message with role user, system, "
                              + "developer or assistant, or a function_call, function_call_output or reasoning item)")
        }
    }

    /// A user/system message's content: a string, or `input_text` parts (joined with newlines).
    private static func inputText(_ content: JSONValue?, at i: Int) throws(APIError) -> JSONValue {
        switch content {
        case .string?: return content!
        case .array(let parts)?:
            var texts: [String] = []
            for part in parts {
                switch part["type"]?.stringValue {
                case "input_text"?:
                    guard let text = part["text"]?.stringValue else { throw .badRequest("input[\(i)]: an input_text part needs 'text'") }
                    texts.append(text)
                case "input_image"?, "input_file"?, "input_audio"?:
                    throw .badRequest("input[\(i)]: image, file and audio input is not supported: this server has no multimodal projector")
                default:
                    throw .badRequest("input[\(i)]: content part 'type' must be 'input_text'")
                }
            }
            return .string(texts.joined(separator: "\n"))
        default: throw .badRequest("input[\(i)]: a message needs 'content' (a string or an array of parts)")
        }
    }

    /// An earlier assistant message's text: a string, or `output_text` (or `input_text`) parts.
    private static func outputText(_ content: JSONValue?, at i: Int) throws(APIError) -> String {
        switch content {
        case .string(let s)?: return s
        case .array(let parts)?:
            var text = ""
            for part in parts {
                switch part["type"]?.stringValue {
                case "output_text"?, "input_text"?:
                    guard let t = part["text"]?.stringValue else { throw .badRequest("input[\(i)]: an output_text part needs 'text'") }
                    text += t
                case "refusal"?:
                    guard let t = part["refusal"]?.stringValue else { throw .badRequest("input[\(i)]: a refusal part needs 'refusal'") }
                    text += t
                default: throw .badRequest("input[\(i)]: content part 'type' must be 'output_text' or 'refusal'")
                }
            }
            return text
        case nil, .null?: return ""
        default: throw .badRequest("input[\(i)]: an assistant message's 'content' must be a string or an array of parts")
        }
    }

    /// Adds to the assistant message at the end of `messages`, or starts one.
    private static func appendAssistant(_ messages: inout [JSONValue], content: String? = nil, toolCall: JSONValue? = nil,
                                        reasoning: String? = nil) {
        var members: [(key: String, value: JSONValue)]
        if let last = messages.last, last["role"]?.stringValue == "assistant", let m = last.objectMembers {
            members = m
            messages.removeLast()
        } else {
            members = [("role", "assistant")]
        }
        func set(_ key: String, _ value: JSONValue) {
            if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { members.append((key, value)) }
        }
        if let content {
            set("content", .string((members.first { $0.key == "content" }?.value.stringValue ?? "") + content))
        }
        if let toolCall {
            set("tool_calls", .array((members.first { $0.key == "tool_calls" }?.value.arrayValue ?? []) + [toolCall]))
        }
        if let reasoning { set("reasoning_content", .string(reasoning)) }
        messages.append(.object(members))
    }

    /// A Responses tool (`{"type": "function", "name", "description", "parameters", "strict"}`)
    /// as a chat tool; tools of other types (web search, file search, …) have no chat equivalent
    /// and are left out, as llama-server does.
    private static func function(_ tool: JSONValue, at i: Int) throws(APIError) -> JSONValue? {
        guard let members = tool.objectMembers else { throw JSONFields.typeError("tools[\(i)]", "an object") }
        guard tool["type"]?.stringValue == "function" else { return nil }
        return .object([("type", "function"), ("function", .object(members.filter { $0.key != "type" }))])
    }
}
