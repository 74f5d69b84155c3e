import Grammar
import JSON

/// `tool_choice`: whether the model may, must, or must not call tools.
enum ToolChoice: Equatable, Sendable {
    case auto, none, required
    case function(String)

    init(_ value: JSONValue?) throws(APIError) {
        switch value {
        case nil, .null?: self = .auto
        case .string("auto")?: self = .auto
        case .string("none")?: self = .none
        case .string("required")?: self = .required
        case .object?:
            guard case .string(let name)? = value?["function"]?["name"] else {
                throw .badRequest("tool_choice as an object needs {\"type\": \"function\", \"function\": {\"name\": …}}")
            }
            self = .function(name)
        default: throw .badRequest("Invalid tool_choice: expected \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}")
        }
    }
}

/// `--reasoning-format` (and a request's `reasoning_format`): where thoughts go in a reply.
enum ReasoningFormat: String, Sendable {
    /// Thoughts stay in `content`, tags included.
    case none
    /// Thoughts go to `reasoning_content`.
    case deepseek
    /// As `deepseek` (llama-server also keeps the tags in non-streamed `content`; Cria does not).
    case deepseekLegacy = "deepseek-legacy"
    /// As `deepseek` for every template with a thinking block.
    case auto
}

/// How one chat request's reply is read and constrained: the tool-call format, the grammar that
/// forces calls, and the thinking markers. Built from the request and the template.
struct ChatToolPlan {
    var format: ChatFormat
    var tools: [ToolDefinition]
    var choice: ToolChoice
    var parallel: Bool
    /// Set when calls must be (or, with a trigger, may be) constrained.
    var grammar: ToolCallGrammar?

    init(tools rawTools: [JSONValue]?, choice: ToolChoice, parallel: Bool, templateSource: String) throws(APIError) {
        format = ChatFormat(templateSource: templateSource)
        tools = try (rawTools ?? []).map { t throws(APIError) in try ToolDefinition(t) }
        self.choice = choice
        self.parallel = parallel
        if tools.isEmpty, choice != .auto, choice != .none {
            throw .badRequest("tool_choice \(choice == .required ? "'required'" : "naming a function") needs 'tools'")
        }
        switch choice {
        case .none: return
        case .auto:
            guard !tools.isEmpty, format != .functionaryV3 else { return }
            grammar = try ToolCallGrammar(format: format, tools: tools, parallel: parallel, allowText: true)
        case .required:
            grammar = try ToolCallGrammar(format: format, tools: tools, parallel: parallel, allowText: false)
        case .function(let name):
            guard let tool = tools.first(where: { $0.name == name }) else {
                throw .badRequest("tool_choice names '\(name)', which is not in 'tools'")
            }
            grammar = try ToolCallGrammar(format: format, tools: [tool], parallel: false, allowText: false)
        }
    }

    /// Whether replies are read for tool calls.
    var parsesCalls: Bool { !tools.isEmpty && choice != .none }

    /// How replies are read: with the format's tool-call syntax when calls are read, and always
    /// as Harmony messages for gpt-oss (its channels say what is an answer and what a thought).
    func replySyntax(extractsReasoning: Bool, prompt: String) -> (any ToolCallSyntax)? {
        if format == .gptOss {
            return HarmonySyntax(extractsReasoning: extractsReasoning, readsCalls: parsesCalls,
                                 openChannel: HarmonySyntax.openChannel(prompt: prompt))
        }
        return parsesCalls ? format.syntax : nil
    }

    /// The messages as this template can render them. Templates that pass tool-call arguments
    /// through `tojson` want objects, not the JSON strings OpenAI clients send; templates with no
    /// tool support (the generic format) get the calls and results written as JSON text, as
    /// llama-server's polyfills write them, and a system message describing the tools.
    func messagesForTemplate(_ messages: [JSONValue], templateSource: String) -> [JSONValue] {
        let objectArguments = !templateSource.contains("arguments is string")
        let native = templateSource.contains("tool_calls")
        var out = messages.map { m -> JSONValue in
            guard case .object(var members) = m else { return m }
            if format == .gptOss { Self.harmonyFields(&members) }
            if let i = members.firstIndex(where: { $0.key == "tool_calls" }), case .array(let calls) = members[i].value {
                let converted = calls.map { objectArguments ? Self.parsingArguments($0) : $0 }
                if native {
                    members[i].value = .array(converted)
                } else {
                    members.remove(at: i)
                    let text = JSONValue.object([("tool_calls", .array(converted.map(Self.flatCall)))]).serialized()
                    Self.setContent(&members, text)
                }
            }
            if !native, m["role"]?.stringValue == "tool" {
                var response: [(key: String, value: JSONValue)] = []
                if let name = m["name"] { response.append(("tool", name)) }
                if let id = m["tool_call_id"] { response.append(("tool_call_id", id)) }
                response.append(("content", m["content"] ?? .null))
                members = [("role", "user"), ("content", .string(JSONValue.object([("tool_response", .object(response))]).serialized()))]
            }
            return .object(members)
        }
        if format == .generic, parsesCalls { out = Self.addingSystem(genericInstructions, to: out) }
        return out
    }

    /// llama-server's instructions for the generic JSON form, with the tools listed.
    private var genericInstructions: String {
        let list = JSONValue.array(tools.map { .object([("name", .string($0.name)), ("parameters", $0.parameters)]) })
        let key = parallel ? "tool_calls" : "tool_call"
        var text = "You can call these tools:\n" + list.serialized(.python(indent: "  ")) + "\n\n"
        text += choice == .auto
            ? "Respond in JSON format, either with `\(key)` (a request to call tools) or with `response` (your reply to the user's request)."
            : "Respond in JSON format with `\(key)` (a request to call tools)."
        return text
    }

    /// What the gpt-oss template expects of a message, as llama-server passes it: earlier thoughts
    /// (`reasoning_content`) as `thinking`, and no `content` beside them in a message with tool
    /// calls (the template refuses both); a null `content` as empty text (the template tests
    /// what the text contains).
    private static func harmonyFields(_ members: inout [(key: String, value: JSONValue)]) {
        let hasCalls = members.contains { if $0.key == "tool_calls", case .array(let a) = $0.value { !a.isEmpty } else { false } }
        if let r = members.first(where: { $0.key == "reasoning_content" }), case .string = r.value {
            members.removeAll { $0.key == "thinking" }
            members.append(("thinking", r.value))
            if hasCalls { members.removeAll { $0.key == "content" } }
        }
        if let c = members.firstIndex(where: { $0.key == "content" }), members[c].value == .null {
            members[c].value = .string("")
        }
    }

    private static func addingSystem(_ text: String, to messages: [JSONValue]) -> [JSONValue] {
        var out = messages
        if case .object(var members)? = out.first, members.first(where: { $0.key == "role" })?.value.stringValue == "system" {
            let old = members.first(where: { $0.key == "content" })?.value.stringValue ?? ""
            setContent(&members, old.isEmpty ? text : old + "\n\n" + text)
            out[0] = .object(members)
        } else {
            out.insert(.object([("role", "system"), ("content", .string(text))]), at: 0)
        }
        return out
    }

    private static func setContent(_ members: inout [(key: String, value: JSONValue)], _ text: String) {
        if let c = members.firstIndex(where: { $0.key == "content" }) {
            let old = members[c].value.stringValue ?? ""
            members[c].value = .string(old.isEmpty ? text : old + "\n" + text)
        } else {
            members.append(("content", .string(text)))
        }
    }

    /// `{"type": "function", "function": {"name", "arguments": "{…}"}}` with arguments as an object.
    private static func parsingArguments(_ call: JSONValue) -> JSONValue {
        guard case .object(var members) = call, let f = members.firstIndex(where: { $0.key == "function" }),
              case .object(var function) = members[f].value,
              let a = function.firstIndex(where: { $0.key == "arguments" }), case .string(let text) = function[a].value,
              let parsed = try? JSONValue.parse(text) else { return call }
        function[a].value = parsed
        members[f].value = .object(function)
        return .object(members)
    }

    /// `{"name", "arguments", "id"}` as the generic form writes a call.
    private static func flatCall(_ call: JSONValue) -> JSONValue {
        var out: [(key: String, value: JSONValue)] = []
        if let n = call["function"]?["name"] { out.append(("name", n)) }
        if let a = call["function"]?["arguments"] { out.append(("arguments", a)) }
        if let id = call["id"] { out.append(("id", id)) }
        return .object(out)
    }
}
