import Testing
@testable import Server

/// gpt-oss replies (the Harmony format) read as llama.cpp's GPT-OSS parser reads them; the
/// replies are llama.cpp's own test strings for the format (tests/test-chat.cpp) and the shapes
/// gpt-oss writes after its generation prompt `<|start|>assistant`. Each is checked whole and
/// streamed in pieces of 1…8 characters (`check`).
extension ToolCallParserTests {
    static let harmony = HarmonySyntax()

    @Test func harmonyFinalChannelIsContent() {
        check(Self.harmony, "<|channel|>final<|message|>Hello, world!\nWhat's up?", content: "Hello, world!\nWhat's up?", calls: [])
        check(Self.harmony, "<|channel|>commentary<|message|>Hello, world!\nWhat's up?", content: "Hello, world!\nWhat's up?", calls: [])
    }

    @Test func harmonyAnalysisIsReasoning() {
        check(Self.harmony, "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>final<|message|>Hello, world!\nWhat's up?",
              content: "Hello, world!\nWhat's up?", calls: [], reasoningText: "I'm\nthinking")
        // Several analysis blocks are joined; a preamble on the commentary channel is content.
        check(Self.harmony, "<|channel|>analysis<|message|>one <|end|><|start|>assistant<|channel|>commentary<|message|>Let me see.<|end|>"
              + "<|start|>assistant<|channel|>analysis<|message|>two<|end|><|start|>assistant<|channel|>final<|message|>Done.",
              content: "Let me see.Done.", calls: [], reasoningText: "one two")
    }

    @Test func harmonyReasoningFormatNoneKeepsTheBlockInContent() {
        let none = HarmonySyntax(extractsReasoning: false, readsCalls: false)
        check(none, "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>final<|message|>Hello, world!\nWhat's up?",
              content: "<|channel|>analysis<|message|>I'm\nthinking<|end|>Hello, world!\nWhat's up?", calls: [])
    }

    @Test func harmonyUnfinishedAnalysisStreamsAsReasoning() {
        var p = ChatOutputParser(syntax: Self.harmony, reasoning: nil)
        let d1 = p.add("<|channel|>analysis<|message|>I'm\nthin")
        #expect(d1?.reasoning == "I'm\nthin" && d1?.content == nil)
        let d2 = p.add("king<|en")
        #expect(d2?.reasoning == "king")  // "<|en" may be the start of <|end|>: held back
        #expect(p.finish().message == ParsedMessage(content: "", reasoning: "I'm\nthinking<|en"))
    }

    @Test func harmonyCallsInEveryHeaderForm() {
        let call = call("special_function", "{\"arg1\": 1}")
        for text in [" to=functions.special_function<|channel|>analysis<|message|>{\"arg1\": 1}",
                     "<|channel|>analysis to=functions.special_function<|message|>{\"arg1\": 1}",
                     " to=functions.special_function<|channel|>analysis <|constrain|>json<|message|>{\"arg1\": 1}",
                     "<|channel|>commentary to=functions.special_function<|message|>{\"arg1\": 1}",
                     "<|channel|>commentary to=functions.special_function json<|message|>{\"arg1\": 1}"] {
            check(Self.harmony, text, calls: [call])
        }
        check(Self.harmony, "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant to=functions.special_function<|channel|>analysis<|message|>{\"arg1\": 1}",
              calls: [call], reasoningText: "I'm\nthinking")
        check(Self.harmony, "<|channel|>analysis<|message|>Thinking about edit...<|end|><|start|>assistant<|channel|>commentary to=functions.edit <|constrain|>json"
              + "<|message|>{\"oldString\": \"if (part < railCount - 1) {\", \"newString\": \"if (part < 4) {\", \"replaceAll\": false}",
              calls: [self.call("edit", "{\"oldString\": \"if (part < railCount - 1) {\", \"newString\": \"if (part < 4) {\", \"replaceAll\": false}")],
              reasoningText: "Thinking about edit...")
    }

    @Test func harmonyCallsAreDroppedWithoutTools() {
        let noTools = HarmonySyntax(extractsReasoning: true, readsCalls: false)
        check(noTools, "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\": 1}", calls: [])
    }

    @Test func harmonyMessagesToOtherRecipientsAreDropped() {
        check(Self.harmony, "<|channel|>analysis<|message|>I will execute python to say hello<|end|><|start|>assistant to=container.exec<|channel|>commentary<|message|>python3 -c 'print(\"hello\")'",
              calls: [], reasoningText: "I will execute python to say hello")
        check(Self.harmony, "<|channel|>analysis<|message|>I will execute python to say hello<|end|><|start|>assistant<|channel|>commentary to=python <|constrain|>code<|message|>print(\"hello\")",
              calls: [], reasoningText: "I will execute python to say hello")
    }

    @Test func harmonyStrayCommentaryHeadersAreSkipped() {
        check(Self.harmony, "<|channel|>commentary to=assistant<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>final<|message|>Hello",
              content: "Hello", calls: [], reasoningText: "I'm\nthinking")
        check(Self.harmony, "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>commentary to=assistant<|channel|>final<|message|>Hello",
              content: "Hello", calls: [], reasoningText: "I'm\nthinking")
    }

    @Test func harmonyStructuredFinalWithConstraint() {
        check(Self.harmony, "<|channel|>analysis<|message|>JSON it is<|end|><|start|>assistant<|channel|>final <|constrain|>json<|message|>{\"amount\": 1}",
              content: "{\"amount\": 1}", calls: [], reasoningText: "JSON it is")
    }

    @Test func harmonyTextWithoutChannelsIsContent() {
        // A reply that is not in the format (another model behind the template) is returned as is.
        check(Self.harmony, "Just text.", content: "Just text.", calls: [])
        #expect(Self.harmony.parse("<|channel|>bogus<|message|>x", partial: false) == nil)
    }

    @Test func harmonyFormatFromTemplate() {
        #expect(ChatFormat(templateSource: "{{- \"<|start|>assistant<|channel|>final<|message|>\" }}") == .gptOss)
    }
}
