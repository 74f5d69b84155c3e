import Grammar
import JSON
import Serving
import Testing
@testable import Server

/// The grammars that force tool calls accept each format's calls with valid arguments only,
/// and the parser reads back what they allow.
struct ToolCallGrammarTests {
    let tools = [
        try! ToolDefinition(JSONValue.parse(#"{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city", "days"]}}}"#)),
        try! ToolDefinition(JSONValue.parse(#"{"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]}}}"#)),
    ]

    func matcher(_ format: ChatFormat, parallel: Bool = false, allowText: Bool = false) throws -> GrammarMatcher {
        let g = try ToolCallGrammar(format: format, tools: tools, parallel: parallel, allowText: allowText)
        return GrammarMatcher(grammar: try g.grammar)
    }

    @Test func everyFormatAcceptsAValidCallAndTheParserReadsIt() throws {
        let samples: [ChatFormat: String] = [
            .hermes: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}\n</tool_call>",
            .llama3: "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\", \"days\": 2}}",
            .mistral: "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}]",
            .deepSeekR1: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Oslo\", \"days\": 2}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            .functionaryV3: "get_weather\n{\"city\": \"Oslo\", \"days\": 2}",
            .commandR: "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\", \"days\": 2}}]<|END_ACTION|>",
            .generic: "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}}",
            .gptOss: "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Oslo\", \"days\": 2}",
        ]
        for format in ChatFormat.allCases {
            let text = try #require(samples[format])
            #expect(try matcher(format).matchesCompletely(text), "\(format)")
            let parsed = format.syntax.parse(text, partial: false)
            #expect(parsed?.toolCalls.map(\.name) == ["get_weather"], "\(format)")
            #expect(parsed?.toolCalls.first.flatMap { try? JSONValue.parse($0.arguments) } == ["city": "Oslo", "days": 2], "\(format)")
        }
    }

    @Test func argumentsOutsideTheSchemaAreRejected() throws {
        let m = try matcher(.hermes)
        #expect(!m.matchesCompletely("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": 3, \"days\": 2}}\n</tool_call>"))
        #expect(!m.matchesCompletely("<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>"))
        #expect(!m.matchesCompletely("Hello"))
    }

    @Test func parallelCallsOnlyWhenAsked() throws {
        let two = "{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1}}, {\"name\": \"add\", \"arguments\": {\"a\": 2.5}}]}"
        #expect(try matcher(.generic, parallel: true).matchesCompletely(two))
        #expect(try !matcher(.generic).matchesCompletely(two))
    }

    @Test func genericAutoAllowsAResponse() throws {
        #expect(try matcher(.generic, allowText: true).matchesCompletely("{\"response\": \"Hi there\"}"))
        #expect(try !matcher(.generic).matchesCompletely("{\"response\": \"Hi there\"}"))
        let g = try ToolCallGrammar(format: .generic, tools: tools, parallel: false, allowText: true)
        #expect(g.trigger == nil)
    }

    @Test func autoIsLazyOnTheFormatsMarker() throws {
        let g = try ToolCallGrammar(format: .hermes, tools: tools, parallel: false, allowText: true)
        #expect(g.trigger == "<tool_call>")
        #expect(try ToolCallGrammar(format: .mistral, tools: tools, parallel: false, allowText: true).trigger == "[TOOL_CALLS]")
    }

    /// gpt-oss with `response_format`: thoughts may come first, then the final channel's body
    /// must match the schema (as llama-server's grammar for this format).
    @Test func gptOssResponseFormatConstrainsTheFinalChannel() throws {
        let schema = try JSONValue.parse(#"{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}"#)
        let gbnf = HarmonyGrammar.finalChannel(around: try JSONSchemaConverter.convert(schema: schema).gbnf)
        let m = GrammarMatcher(grammar: try Grammar.parse(gbnf, root: HarmonyGrammar.finalRoot))
        #expect(m.matchesCompletely("<|channel|>final<|message|>{\"a\": 1}"))
        #expect(m.matchesCompletely("<|channel|>analysis<|message|>JSON it is<|end|><|start|>assistant<|channel|>final <|constrain|>json<|message|>{\"a\": 2}"))
        #expect(!m.matchesCompletely("<|channel|>final<|message|>{\"a\": \"x\"}"))
        #expect(!m.matchesCompletely("{\"a\": 1}"))
        // and the reply reads back as content
        let parsed = HarmonySyntax().parse("<|channel|>analysis<|message|>ok<|end|><|start|>assistant<|channel|>final <|constrain|>json<|message|>{\"a\": 2}", partial: false)
        #expect(parsed == ParsedMessage(content: "{\"a\": 2}", reasoning: "ok"))
    }

    /// gpt-oss: `auto` constrains from ` to=functions.` on, in either header form; a forced call
    /// may come after thoughts, and must come (plain text or a final answer does not complete it).
    @Test func gptOssCallsInBothHeaderForms() throws {
        let lazy = try ToolCallGrammar(format: .gptOss, tools: tools, parallel: false, allowText: true)
        #expect(lazy.trigger == " to=functions.")
        let l = GrammarMatcher(grammar: try lazy.grammar)
        #expect(l.matchesCompletely(" to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Oslo\", \"days\": 2}"))
        #expect(l.matchesCompletely(" to=functions.add <|constrain|>json<|message|>{\"a\": 1.5}"))
        #expect(!l.matchesCompletely(" to=functions.add<|message|>{\"a\": \"x\"}"))
        #expect(!l.matchesCompletely(" to=functions.nope<|message|>{}"))
        let forced = try matcher(.gptOss)
        #expect(forced.matchesCompletely("<|channel|>commentary to=functions.add<|message|>{\"a\": 1}"))
        #expect(forced.matchesCompletely(" to=functions.add<|channel|>commentary<|message|>{\"a\": 1}"))
        #expect(!forced.matchesCompletely("<|channel|>final<|message|>Hello"))
        #expect(!forced.matchesCompletely("<|channel|>analysis<|message|>hmm<|end|>"))
    }

    @Test func lazyConstraintWaitsForTheTrigger() throws {
        let g = try ToolCallGrammar(format: .hermes, tools: tools, parallel: false, allowText: true)
        // A vocabulary of a few words and single characters.
        var words = ["Sure", " ", "<tool", "_call>", "\n", "{\"name\": \"", "get_weather", "\", \"arguments\": ", "x"]
        words += (32..<127).map { String(UnicodeScalar(UInt8($0))) }
        let vocab = TokenVocabulary(tokens: words.map { Array($0.utf8) })
        let constraint = GrammarConstraint(grammar: try g.grammar, vocabulary: vocab, trigger: g.trigger)
        func id(_ w: String) -> Int32 { Int32(words.firstIndex(of: w)!) }
        #expect(constraint.allows(id("x")))
        constraint.accept(id("Sure"))
        constraint.accept(id(" "))
        constraint.accept(id("<tool"))
        #expect(!constraint.isActive)
        constraint.accept(id("_call>"))
        #expect(constraint.isActive)
        #expect(constraint.allows(id("\n")))
        #expect(!constraint.allows(id("x")))
        constraint.reset()
        #expect(!constraint.isActive)
    }

    @Test func gbnfRenamingLeavesLiteralsAlone() {
        let line = #"root ::= "{" space "root" [a-z] value"#
        #expect(GBNFLiteral.renamingRules(line, names: ["root", "space", "value"], prefix: "t0-")
                == #"t0-root ::= "{" t0-space "root" [a-z] t0-value"#)
    }
}
