import Foundation
import JSON
import NIOCore
import Serving

/// The Anthropic Messages shapes Cria answers with, built as JSON values rather than Encodable
/// types: a tool call's `input` is the model's own JSON object, kept as written.
enum AnthropicJSON {
    /// `stop_reason` and `stop_sequence` of a finished reply. Calls win over a stop string, as a
    /// client must run them; only a stop on one of the request's `stop_sequences` is reported as
    /// one (ChatML's end of turn, which Cria adds itself, is the end of the turn).
    static func stop(_ reason: StopReason, toolCalls: Bool, stopSequences: [String]) -> (reason: String, sequence: String?) {
        switch reason {
        case .limit: ("max_tokens", nil)
        case _ where toolCalls: ("tool_use", nil)
        case .word(let word) where stopSequences.contains(word): ("stop_sequence", word)
        default: ("end_turn", nil)
        }
    }

    /// `usage`, as llama-server counts it: `input_tokens` are the prompt tokens not read from
    /// the slot's cache, which are `cache_read_input_tokens`.
    static func usage(promptTokens: Int, cachedTokens: Int, outputTokens: Int) -> JSONValue {
        .object([("cache_read_input_tokens", .int(cachedTokens)), ("input_tokens", .int(promptTokens - cachedTokens)),
                 ("output_tokens", .int(outputTokens))])
    }

    /// A `message` object: the whole reply, or (in `message_start`) its empty beginning.
    static func message(id: String, model: String, content: [JSONValue], stop: (reason: String, sequence: String?)?,
                        usage: JSONValue) -> JSONValue {
        .object([("id", .string(id)), ("type", "message"), ("role", "assistant"), ("content", .array(content)),
                 ("model", .string(model)), ("stop_reason", stop.map { JSONValue.string($0.reason) } ?? .null),
                 ("stop_sequence", stop?.sequence.map { JSONValue.string($0) } ?? .null), ("usage", usage)])
    }

    /// A parsed reply as content blocks: thoughts, then text, then tool calls (llama-server's order).
    static func contentBlocks(_ message: ParsedMessage) -> [JSONValue] {
        var blocks: [JSONValue] = []
        if !message.reasoning.isEmpty { blocks.append(thinkingBlock(message.reasoning)) }
        if !message.content.isEmpty { blocks.append(textBlock(message.content)) }
        for call in message.toolCalls {
            blocks.append(toolUseBlock(id: call.id ?? ChatOutputParser.newID(), name: call.name, input: input(call.arguments)))
        }
        return blocks
    }

    /// A call's arguments as the `input` object; arguments that are no JSON object (which the
    /// tool grammar prevents) give `{}`, as llama-server gives.
    static func input(_ arguments: String) -> JSONValue {
        guard let parsed = try? JSONValue.parse(arguments), parsed.objectMembers != nil else { return .object([]) }
        return parsed
    }

    /// A thinking block. Its `signature` proves Anthropic wrote the thoughts; a local model has
    /// none to give, so it is empty (as llama-server sends it).
    static func thinkingBlock(_ thinking: String) -> JSONValue {
        .object([("type", "thinking"), ("thinking", .string(thinking)), ("signature", "")])
    }

    static func textBlock(_ text: String) -> JSONValue {
        .object([("type", "text"), ("text", .string(text))])
    }

    static func toolUseBlock(id: String, name: String, input: JSONValue) -> JSONValue {
        .object([("type", "tool_use"), ("id", .string(id)), ("name", .string(name)), ("input", input)])
    }
}

/// One event of an Anthropic stream: its `event:` name, which is also the `type` of its data.
struct AnthropicEvent {
    var type: String
    var data: JSONValue

    init(_ type: String, _ members: [(key: String, value: JSONValue)] = []) {
        self.type = type
        data = .object([("type", .string(type))] + members)
    }

    /// An `error` event carrying llama-server's error object (`code`, `message`, `type`).
    init(error: APIError) {
        type = "error"
        let detail = error.body.error
        data = .object([("code", .int(detail.code)), ("message", .string(detail.message)), ("type", .string(detail.type))])
    }

    var serverSentEvent: ByteBuffer {
        ServerSentEvents.event(named: type, encoded: Data(data.serialized().utf8))
    }
}
