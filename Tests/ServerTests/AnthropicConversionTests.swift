import JSON
import Serving
import Testing
@testable import Server

/// Anthropic Messages requests become the OpenAI chat body the chat pipeline reads, and parsed
/// replies become Anthropic blocks and stream events.
struct AnthropicConversionTests {
    func request(_ json: String) throws(APIError) -> AnthropicRequest {
        try AnthropicRequest(JSONFields(body: Array(json.utf8)))
    }

    @Test func messagesBecomeChatMessages() throws {
        let r = try request("""
        {"system": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}],
         "messages": [
          {"role": "user", "content": "Weather?"},
          {"role": "assistant", "content": [{"type": "thinking", "thinking": "Look it up.", "signature": "x"},
                                            {"type": "text", "text": "Checking."},
                                            {"type": "tool_use", "id": "t1", "name": "get", "input": {"city": "Oslo"}}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "Rain"}, {"type": "text", "text": "y"}]},
                                       {"type": "text", "text": "And tomorrow?"}]}],
         "stop_sequences": ["END"], "temperature": 0.2, "tool_choice": {"type": "tool", "name": "get"},
         "tools": [{"name": "get", "description": "Weather", "input_schema": {"type": "object"}}],
         "thinking": {"type": "enabled"}, "metadata": {"user_id": "u"}}
        """)
        let chat = r.chatFields.value
        let messages = try #require(chat["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool", "user"])
        #expect(messages[0]["content"] == .string("Be brief."))
        let assistant = messages[2]
        #expect(assistant["reasoning_content"] == .string("Look it up."))
        #expect(assistant["content"] == .array([.object([("type", "text"), ("text", "Checking.")])]))
        let call = try #require(assistant["tool_calls"]?.arrayValue?.first)
        #expect(call["id"] == .string("t1") && call["function"]?["name"] == .string("get"))
        #expect(call["function"]?["arguments"] == .string(#"{"city":"Oslo"}"#))
        #expect(messages[3]["tool_call_id"] == .string("t1") && messages[3]["content"] == .string("Rainy"))
        #expect(chat["stop"] == .array(["END"]) && r.stopSequences == ["END"])
        #expect(chat["max_tokens"] == .int(AnthropicRequest.defaultMaxTokens))
        #expect(chat["thinking_budget_tokens"] == .int(AnthropicRequest.defaultThinkingBudget))
        #expect(chat["tool_choice"]?["function"]?["name"] == .string("get"))
        #expect(chat["tools"]?.arrayValue?.first?["function"]?["parameters"] == .object([("type", "object")]))
        // The OpenAI chat request reads it as such a request.
        let decoded = try ChatRequest(r.chatFields, vocabularySize: 1000)
        #expect(decoded.toolChoice == .function("get") && decoded.reasoningBudget == AnthropicRequest.defaultThinkingBudget)
        #expect(decoded.options.sampling.temperature == 0.2 && decoded.options.predictLimit == 4096)
    }

    @Test func toolChoiceTypes() throws {
        for (type, expected) in [("auto", JSONValue.string("auto")), ("any", "required"), ("none", "none")] {
            let r = try request(#"{"messages": [], "tool_choice": {"type": "\#(type)"}}"#)
            #expect(r.chatFields.value["tool_choice"] == expected)
        }
    }

    @Test func badInputIsA400NamingTheProblem() {
        let cases: [(String, String)] = [
            (#"{}"#, "messages"),
            (#"{"messages": [{"role": "system", "content": "x"}]}"#, "role"),
            (#"{"messages": [{"role": "user", "content": [{"type": "audio"}]}]}"#, "audio"),
            (#"{"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]}"#, "image input is not supported"),
            (#"{"messages": [{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "a"}]}]}"#, "tool_result"),
            (#"{"messages": [], "system": [{"type": "text"}]}"#, "system"),
            (#"{"messages": [], "thinking": {"type": "enabled", "budget_tokens": -5}}"#, "budget_tokens"),
            (#"{"messages": [], "tool_choice": {"type": "tool"}}"#, "name"),
            (#"{"messages": [], "tools": [{"type": "bash_20250124", "name": "bash"}]}"#, "custom tools"),
        ]
        for (body, word) in cases {
            do {
                _ = try request(body)
                Issue.record("expected a 400 for \(body)")
            } catch {
                #expect(error.status == .badRequest && error.message.contains(word), "\(body): \(error.message)")
            }
        }
    }

    @Test func billingHeaderHashIsSteady() {
        let header = "x-anthropic-billing-header: cc_version=2.1; cch=a5145;You are Claude Code."
        #expect(AnthropicRequest.steadyBillingHeader(header) == "x-anthropic-billing-header: cc_version=2.1; cch=fffff;You are Claude Code.")
        for text in ["You are helpful. cch=a5145;", "x-anthropic-billing-header: cch=a51;", "x-anthropic-billing-header: cch=a5145"] {
            #expect(AnthropicRequest.steadyBillingHeader(text) == text)
        }
    }

    @Test func stopReasons() {
        func stop(_ reason: StopReason, calls: Bool = false) -> String {
            let s = AnthropicJSON.stop(reason, toolCalls: calls, stopSequences: ["END"])
            return s.reason + (s.sequence.map { " " + $0 } ?? "")
        }
        #expect(stop(.limit, calls: true) == "max_tokens")
        #expect(stop(.endOfGeneration, calls: true) == "tool_use")
        #expect(stop(.endOfGeneration) == "end_turn")
        #expect(stop(.word("END")) == "stop_sequence END")
        // A stop the server added itself (ChatML's end of turn) is the end of the turn.
        #expect(stop(.word("<|im_end|>")) == "end_turn")
    }

    @Test func streamBlocksOpenOneAtATime() {
        var blocks = AnthropicStreamBlocks()
        var events: [AnthropicEvent] = []
        events += blocks.events(for: ChatOutputDelta(content: nil, reasoning: "Hm"))
        events += blocks.events(for: ChatOutputDelta(content: "Hi", reasoning: nil))
        events += blocks.events(for: ChatOutputDelta(toolCalls: [.init(index: 0, id: "c0", name: "f", arguments: "{\"a\"")]))
        events += blocks.events(for: ChatOutputDelta(toolCalls: [.init(index: 0, arguments: ":1}")]))
        events += blocks.finish()
        let summary = events.map { e -> String in
            let index = e.data["index"]?.intValue.map(String.init) ?? "-"
            let kind = e.data["content_block"]?["type"]?.stringValue ?? e.data["delta"]?["type"]?.stringValue ?? ""
            return "\(e.type) \(index) \(kind)"
        }
        #expect(summary == [
            "content_block_start 0 thinking", "content_block_delta 0 thinking_delta",
            "content_block_delta 0 signature_delta", "content_block_stop 0 ",
            "content_block_start 1 text", "content_block_delta 1 text_delta", "content_block_stop 1 ",
            "content_block_start 2 tool_use", "content_block_delta 2 input_json_delta",
            "content_block_delta 2 input_json_delta", "content_block_stop 2 ",
        ])
        #expect(events.allSatisfy { $0.data["type"] == .string($0.type) })
        #expect(blocks.finish().isEmpty)
    }
}
