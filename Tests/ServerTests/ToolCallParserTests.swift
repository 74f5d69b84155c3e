import Grammar
import JSON
import Testing
@testable import Server

/// Each tool-call format read from replies written as its model writes them (from the formats'
/// documentation and chat templates), whole and streamed in pieces of every size.
struct ToolCallParserTests {
    func call(_ name: String, _ arguments: String, id: String? = nil) -> ParsedToolCall {
        ParsedToolCall(name: name, arguments: arguments, id: id)
    }

    /// Parses `text` whole, then streamed in pieces of 1…8 characters; checks that the deltas add
    /// up to the whole message and that content never carries part of a call.
    func check(_ syntax: any ToolCallSyntax, _ text: String, content: String = "", calls: [ParsedToolCall],
               reasoning: ReasoningSplit? = nil, reasoningText: String = "",
               sourceLocation: SourceLocation = #_sourceLocation) {
        var whole = ChatOutputParser(syntax: syntax, reasoning: reasoning)
        _ = whole.add(text)
        let message = whole.finish().message
        #expect(message.content == content, sourceLocation: sourceLocation)
        #expect(message.reasoning == reasoningText, sourceLocation: sourceLocation)
        #expect(message.toolCalls.map { [$0.name, $0.arguments] } == calls.map { [$0.name, $0.arguments] }, sourceLocation: sourceLocation)
        for (m, c) in zip(message.toolCalls, calls) where c.id != nil { #expect(m.id == c.id, sourceLocation: sourceLocation) }
        let chars = Array(text)
        for size in 1...8 {
            var parser = ChatOutputParser(syntax: syntax, reasoning: reasoning)
            var deltas: [ChatOutputDelta] = []
            var i = 0
            while i < chars.count {
                if let d = parser.add(String(chars[i..<min(i + size, chars.count)])) { deltas.append(d) }
                i += size
            }
            let (final, last) = parser.finish()
            if let last { deltas.append(last) }
            let streamedContent = deltas.compactMap(\.content).joined()
            #expect(streamedContent == content, "piece size \(size)", sourceLocation: sourceLocation)
            #expect(deltas.compactMap(\.reasoning).joined() == reasoningText, "piece size \(size)", sourceLocation: sourceLocation)
            var streamedCalls: [(name: String, args: String)] = []
            for d in deltas {
                for c in d.toolCalls {
                    if c.index == streamedCalls.count {
                        #expect(c.id != nil && c.name != nil, sourceLocation: sourceLocation)
                        streamedCalls.append((c.name ?? "", c.arguments))
                    } else {
                        #expect(c.name == nil, sourceLocation: sourceLocation)
                        streamedCalls[c.index].args += c.arguments
                    }
                }
            }
            #expect(streamedCalls.map { [$0.name, $0.args] } == calls.map { [$0.name, $0.arguments] },
                    "piece size \(size)", sourceLocation: sourceLocation)
            #expect(final.toolCalls.count == calls.count, sourceLocation: sourceLocation)
        }
    }

    // MARK: Hermes / Qwen

    @Test func hermesSingleCall() {
        check(HermesSyntax(), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>",
              calls: [call("get_weather", #"{"location": "Paris"}"#)])
    }

    @Test func hermesTextThenTwoCalls() {
        check(HermesSyntax(), "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": [1, {\"y\": \"}\"}]}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>",
              content: "Let me check.\n", calls: [call("a", #"{"x": [1, {"y": "}"}]}"#), call("b", "{}")])
    }

    @Test func replyCutOffKeepsCompletedCalls() {
        var p = ChatOutputParser(syntax: GenericJSONSyntax(), reasoning: nil)
        _ = p.add("{\"tool_calls\": [{\"name\": \"f\", \"arguments\": {}}, {\"name\": \"g\", \"argu")
        #expect(p.finish().message.toolCalls.map(\.name) == ["f"])
    }

    /// A piece can extend the last character already sent (`\n` after `\r`, an accent after its
    /// base): the stream must still carry every scalar (by characters it stalled for good).
    @Test func contentGrowsWhenAPieceExtendsTheLastCharacter() {
        var p = ChatOutputParser(syntax: HermesSyntax(), reasoning: nil)
        var streamed = ""
        for piece in ["line1\r", "\nline2 cafe", "\u{301}", " ok"] {
            if let d = p.add(piece) { streamed += d.content ?? "" }
        }
        let (message, last) = p.finish()
        streamed += last?.content ?? ""
        #expect(Array(message.content.unicodeScalars) == Array("line1\r\nline2 cafe\u{301} ok".unicodeScalars))
        #expect(Array(streamed.unicodeScalars) == Array(message.content.unicodeScalars))
    }

    @Test func hermesPlainTextWithAngleBrackets() {
        check(HermesSyntax(), "a < b and <tool is not a call", content: "a < b and <tool is not a call", calls: [])
    }

    @Test func hermesBrokenCallIsContent() {
        let text = "<tool_call>\n{\"name\": 3}\n</tool_call>"
        var p = ChatOutputParser(syntax: HermesSyntax(), reasoning: nil)
        _ = p.add(text)
        #expect(p.finish().message == ParsedMessage(content: text))
    }

    @Test func qwen3ThinkingThenCall() {
        let split = ReasoningSplit(templateSource: "<think>", prompt: "<|im_start|>assistant\n")!
        check(HermesSyntax(), "<think>\nI should call it.\n</think>\n\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"n\": 1}}\n</tool_call>",
              calls: [call("f", #"{"n": 1}"#)], reasoning: split, reasoningText: "I should call it.")
    }

    // MARK: Llama 3.x

    @Test func llama3JSONCall() {
        check(Llama3Syntax(), "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}",
              calls: [call("get_weather", #"{"city": "Oslo"}"#)])
    }

    @Test func llama3TypedCallAndSemicolonList() {
        check(Llama3Syntax(), "{\"type\": \"function\", \"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"k\": true}}",
              calls: [call("a", "{}"), call("b", #"{"k": true}"#)])
    }

    @Test func llama3JSONThatIsNotACall() {
        check(Llama3Syntax(), "{\"answer\": 42}", content: "{\"answer\": 42}", calls: [])
    }

    @Test func llama3PythonTagBuiltin() {
        check(Llama3Syntax(), "<|python_tag|>brave_search.call(query=\"weather in Paris\")",
              calls: [call("brave_search", #"{"query":"weather in Paris"}"#)])
    }

    @Test func llama3PythonTagJSON() {
        check(Llama3Syntax(), "Sure. <|python_tag|>{\"name\": \"f\", \"parameters\": {\"a\": 1}}",
              content: "Sure. ", calls: [call("f", #"{"a": 1}"#)])
    }

    // MARK: Mistral

    @Test func mistralCalls() {
        check(MistralSyntax(), "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": \"[x]\"}, \"id\": \"abc123def\"}, {\"name\": \"g\", \"arguments\": {}, \"id\": \"zzz999yyy\"}]",
              calls: [call("f", #"{"a": "[x]"}"#, id: "abc123def"), call("g", "{}", id: "zzz999yyy")])
    }

    @Test func mistralTextOnly() {
        check(MistralSyntax(), "Hello [there]", content: "Hello [there]", calls: [])
    }

    // MARK: DeepSeek R1

    @Test func deepSeekR1ThinkingAndCall() {
        let split = ReasoningSplit(templateSource: "<think>", prompt: "<｜Assistant｜><think>\n")!
        #expect(split.startsInside)
        check(DeepSeekR1Syntax(),
              "Need weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Rome\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
              calls: [call("get_weather", #"{"city": "Rome"}"#)], reasoning: split, reasoningText: "Need weather.")
    }

    @Test func deepSeekR1TwoCalls() {
        check(DeepSeekR1Syntax(),
              "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>a\n```json\n{}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>b\n```json\n{\"x\": 1}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
              calls: [call("a", "{}"), call("b", #"{"x": 1}"#)])
    }

    // MARK: Functionary v3.2

    @Test func functionaryTextThenCall() {
        check(FunctionaryV3Syntax(), "all\nChecking now.\n>>>get_weather\n{\"city\": \"Lima\"}",
              content: "Checking now.", calls: [call("get_weather", #"{"city": "Lima"}"#)])
    }

    @Test func functionaryTwoCallsAndPython() {
        check(FunctionaryV3Syntax(), "a\n{\"k\": 1}\n>>>python\nprint(1)",
              calls: [call("a", #"{"k": 1}"#), call("python", #"{"code":"print(1)"}"#)])
    }

    @Test func functionaryFirstLineThatIsNoRecipientIsText() {
        // Seen from a small model: the reply opens with `{` on its own line. It is not a call to
        // a function named "{", so nothing may be streamed as one.
        check(FunctionaryV3Syntax(), "{\n    | user: hello\n}\nmore words", content: "{\n    | user: hello\n}\nmore words", calls: [])
        check(FunctionaryV3Syntax(), "Hello there, friend\nhow are you", content: "Hello there, friend\nhow are you", calls: [])
    }

    // MARK: Command R7B

    @Test func commandRThinkingAndAction() {
        let split = ReasoningSplit(templateSource: "<|START_THINKING|>", prompt: "<|CHATBOT_TOKEN|>")!
        check(CommandRSyntax(),
              "<|START_THINKING|>I will search.<|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"search\", \"parameters\": {\"q\": \"swift\"}}\n]<|END_ACTION|>",
              calls: [call("search", #"{"q": "swift"}"#, id: "0")], reasoning: split, reasoningText: "I will search.")
    }

    @Test func commandRResponse() {
        check(CommandRSyntax(), "<|START_RESPONSE|>Hello!<|END_RESPONSE|>", content: "Hello!", calls: [])
    }

    // MARK: Generic JSON

    @Test func genericToolCalls() {
        check(GenericJSONSyntax(), "{\"tool_calls\": [{\"name\": \"f\", \"arguments\": {\"a\": 1}}, {\"name\": \"g\", \"arguments\": {\"b\": \"\\\"q\\\"\"}}]}",
              calls: [call("f", #"{"a": 1}"#), call("g", #"{"b": "\"q\""}"#)])
    }

    @Test func genericSingleCall() {
        check(GenericJSONSyntax(), "{\"tool_call\": {\"name\": \"f\", \"arguments\": {}}}", calls: [call("f", "{}")])
    }

    @Test func genericResponse() {
        check(GenericJSONSyntax(), "{\"response\": \"Hi \\\"you\\\" \\u00e9t\\u00e9\"}", content: "Hi \"you\" été", calls: [])
    }

    @Test func genericPlainText() {
        check(GenericJSONSyntax(), "just words", content: "just words", calls: [])
    }

    // MARK: Reasoning alone

    @Test func thinkingWithoutTools() {
        let split = ReasoningSplit(templateSource: "{% if x %}<think>{% endif %}", prompt: "assistant\n")!
        check(GenericJSONSyntax(), "<think>hmm</think>The answer.", content: "The answer.", calls: [],
              reasoning: split, reasoningText: "hmm")
        var p = ChatOutputParser(syntax: nil, reasoning: split)
        _ = p.add("No thoughts here.")
        #expect(p.finish().message == ParsedMessage(content: "No thoughts here."))
    }

    @Test func unclosedThinkingIsReasoning() {
        let split = ReasoningSplit(templateSource: "<think>", prompt: "x")!
        var p = ChatOutputParser(syntax: nil, reasoning: split)
        _ = p.add("<think>still going")
        #expect(p.finish().message == ParsedMessage(reasoning: "still going"))
    }

    // MARK: Format detection

    @Test func formatFromTemplateMarkers() {
        #expect(ChatFormat(templateSource: "{{ '<tool_call>' }}") == .hermes)
        #expect(ChatFormat(templateSource: "<|start_header_id|>ipython<|end_header_id|>") == .llama3)
        #expect(ChatFormat(templateSource: "[TOOL_CALLS]") == .mistral)
        #expect(ChatFormat(templateSource: "<｜tool▁calls▁begin｜>") == .deepSeekR1)
        #expect(ChatFormat(templateSource: ">>>all") == .functionaryV3)
        #expect(ChatFormat(templateSource: "<|START_ACTION|>") == .commandR)
        #expect(ChatFormat(templateSource: "<start_of_turn>") == .generic)
    }
}
