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

/// Continuing a final assistant message (assistant prefill) with gpt-oss, as llama-server does:
/// the prompt ends inside the analysis or final message, and the reply is read from there.
struct HarmonyContinuationTests {
    @Test func promptEndsAsLlamaServerWritesIt() {
        // llama.cpp's tests/test-chat.cpp, continuation_content and continuation_reasoning
        #expect("<|start|>assistant" + HarmonySyntax.continuation(reasoning: "I'm thinking", content: "Hello, ")
                == "<|start|>assistant<|channel|>analysis<|message|>I'm thinking<|end|><|start|>assistant<|channel|>final<|message|>Hello, ")
        #expect("<|start|>assistant" + HarmonySyntax.continuation(reasoning: "I'm", content: "")
                == "<|start|>assistant<|channel|>analysis<|message|>I'm")
        #expect(HarmonySyntax.continuation(reasoning: "", content: "Hi")
                == "<|channel|>analysis<|message|><|end|><|start|>assistant<|channel|>final<|message|>Hi")
    }

    @Test func openChannelFromThePrompt() {
        let head = "<|start|>user<|message|>Hi<|end|><|start|>assistant"
        #expect(HarmonySyntax.openChannel(prompt: head) == nil)
        #expect(HarmonySyntax.openChannel(prompt: head + HarmonySyntax.continuation(reasoning: "I'm", content: "")) == .analysis)
        #expect(HarmonySyntax.openChannel(prompt: head + HarmonySyntax.continuation(reasoning: "x", content: "Hello")) == .final)
        #expect(HarmonySyntax.openChannel(prompt: head + "<|channel|>final<|message|>done<|end|>") == nil)
    }

    @Test func replyContinuesTheOpenMessage() {
        var p = ChatOutputParser(syntax: HarmonySyntax(openChannel: .analysis), reasoning: nil)
        _ = p.add(" thinking<|end|><|start|>assistant<|channel|>final<|message|>Hello, world!")
        #expect(p.finish().message == ParsedMessage(content: "Hello, world!", reasoning: " thinking"))
        var q = ChatOutputParser(syntax: HarmonySyntax(openChannel: .final), reasoning: nil)
        _ = q.add("world!\nWhat's up?")
        #expect(q.finish().message == ParsedMessage(content: "world!\nWhat's up?"))
        // Reasoning left in content: the header the prompt holds is not repeated.
        var r = ChatOutputParser(syntax: HarmonySyntax(extractsReasoning: false, openChannel: .analysis), reasoning: nil)
        _ = r.add(" more<|end|><|start|>assistant<|channel|>final<|message|>Hi")
        #expect(r.finish().message == ParsedMessage(content: " more<|end|>Hi"))
    }
}

/// Hostile output: many stray headers are skipped without recursion (no stack growth per header).
struct HarmonyHostileOutputTests {
    @Test func manyStrayHeadersAreSkipped() {
        let text = String(repeating: "<|channel|>commentary to=assistant", count: 50_000) + "<|channel|>final<|message|>ok"
        #expect(HarmonySyntax().parse(text, partial: false)?.content == "ok")
    }
}

/// A reply the token limit cut inside a Harmony header keeps its thoughts and answer so far.
struct HarmonyTruncationTests {
    @Test func replyCutInsideAHeaderKeepsWhatCameBefore() {
        var p = ChatOutputParser(syntax: HarmonySyntax(), reasoning: nil)
        _ = p.add("<|channel|>analysis<|message|>Let me think.<|end|><|start|>assistant<|chan")
        #expect(p.finish().message == ParsedMessage(content: "", reasoning: "Let me think."))
        var q = ChatOutputParser(syntax: HarmonySyntax(), reasoning: nil)
        _ = q.add("<|channel|>analysis<|message|>Hm<|end|><|start|>assistant<|channel|>final<|message|>The answer is 4<|en")
        // (inside a body the cut text stays text, as in every format)
        #expect(q.finish().message == ParsedMessage(content: "The answer is 4<|en", reasoning: "Hm"))
        // Text that breaks the format is still returned as it is.
        #expect(HarmonySyntax().parse("<|channel|>analysis<|message|>x<|end|>garbage", partial: false) == nil)
    }
}
