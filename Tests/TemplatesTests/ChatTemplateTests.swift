import Foundation
import Testing
import JSON
@testable import Templates

/// Loads one of the recorded llama-server/jinja2 reference files for gemma3-270m
/// (Tests/Fixtures/reference/README.md).
func reference(_ tag: String) throws -> JSONValue {
    try JSONValue.parse(utf8: Array(Data(contentsOf: Corpus.referenceDir.appendingPathComponent("chat_template_\(tag).json"))))
}

func messages(_ ref: JSONValue, _ key: String = "messages") throws -> [JSONValue] {
    guard case .array(let m)? = ref[key] else { throw TemplateError(.type, "no \(key)") }
    return m
}

@Suite struct ChatTemplateTests {
    let system: JSONValue = ["role": "system", "content": "S"]
    let user: JSONValue = ["role": "user", "content": " U "]
    let assistant: JSONValue = ["role": "assistant", "content": "A"]

    @Test func builtinGemmaMatchesLlamaServer() throws {
        let ref = try reference("builtin-gemma-nojinja")
        let t = try ChatTemplate.resolve(nameOrSource: "gemma")
        #expect(t.builtin == .gemma)
        let out = try t.render(messages: try messages(ref), addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>")
        #expect(JSONValue.string(out) == ref["apply_template_prompt"])
    }

    @Test func chatmlFallbackMatchesLlamaServer() throws {
        let ref = try reference("default-no-template-chatml-fallback")
        let out = try ChatTemplate.defaultFallback.render(messages: try messages(ref), addGenerationPrompt: true)
        #expect(JSONValue.string(out) == ref["apply_template_prompt"])
    }

    @Test func nameUsedAsJinjaSourceRendersLiterally() throws {
        // llama-server with --jinja takes `--chat-template gemma` as source: output is "gemma".
        let ref = try reference("quirk-name-as-jinja-source")
        let out = try ChatTemplate(source: "gemma").render(messages: try messages(ref), addGenerationPrompt: true)
        #expect(JSONValue.string(out) == ref["apply_template_prompt"])
    }

    @Test func resolveFallsBackToJinjaSource() throws {
        let t = try ChatTemplate.resolve(nameOrSource: "{{ messages[0].content }}!")
        #expect(t.builtin == nil)
        #expect(try t.render(messages: [user]) == " U !")
        #expect(throws: TemplateError.self) { try ChatTemplate.resolve(nameOrSource: "{% if %}") }
    }

    @Test func everyBuiltinNameResolves() throws {
        for b in BuiltinTemplate.allCases {
            #expect(try ChatTemplate.resolve(nameOrSource: b.rawValue).builtin == b)
        }
    }

    @Test func textWithoutJinjaMarkupIsAnUnknownName() {
        #expect(throws: UnknownTemplateName(name: "llama-3")) { try ChatTemplate.resolve(nameOrSource: " llama-3\n") }
        let message = UnknownTemplateName(name: "x").description
        #expect(message.contains("chatml") && message.contains("llama3") && message.contains("'x'"))
    }

    @Test func builtinFormats() throws {
        func r(_ b: BuiltinTemplate, _ msgs: [JSONValue], gen: Bool = true) throws -> String {
            try ChatTemplate(builtin: b).render(messages: msgs, addGenerationPrompt: gen)
        }
        let conv = [system, user, assistant, user]
        #expect(try r(.chatml, [user]) == "<|im_start|>user\n U <|im_end|>\n<|im_start|>assistant\n")
        #expect(try r(.llama3, [system, user]) == "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        #expect(try r(.llama2Sys, conv) == "[INST] <<SYS>>\nS\n<</SYS>>\n\n U  [/INST]A</s>[INST]  U  [/INST]")
        #expect(try r(.llama2, conv) == "[INST] S\n U  [/INST]A</s>[INST]  U  [/INST]")
        #expect(try r(.llama2SysBos, [user, assistant, user]) == "[INST]  U  [/INST]A</s><s>[INST]  U  [/INST]")
        #expect(try r(.llama2SysStrip, [user]) == "[INST] U [/INST]")
        #expect(try r(.mistralV7, conv) == "[SYSTEM_PROMPT] S[/SYSTEM_PROMPT][INST]  U [/INST] A</s>[INST]  U [/INST]")
        #expect(try r(.mistralV7Tekken, [user, assistant]) == "[INST] U [/INST]A</s>")
        #expect(try r(.mistralV1, [system, user, assistant]) == " [INST] S\n\n U  [/INST] A</s>")
        #expect(try r(.mistralV3, [user, ["role": "assistant", "content": " A "]]) == "[INST]  U [/INST] A</s>")
        #expect(try r(.mistralV3Tekken, [user, assistant]) == "[INST] U [/INST]A</s>")
        #expect(try r(.phi3, [user]) == "<|user|>\n U <|end|>\n<|assistant|>\n")
        #expect(try r(.phi4, [user]) == "<|im_start|>user<|im_sep|> U <|im_end|><|im_start|>assistant<|im_sep|>")
        #expect(try r(.zephyr, [user]) == "<|user|>\n U <|endoftext|>\n<|assistant|>\n")
        #expect(try r(.monarch, [user, assistant]) == "user\n U </s>\n<s>assistant\nA</s>\n<s>assistant\n")
        #expect(try r(.gemma, [system, user, assistant], gen: false) == "<start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\nA<end_of_turn>\n")
        #expect(try r(.vicuna, [system, user]) == "S\n\nUSER:  U \nASSISTANT:")
        #expect(try r(.vicunaOrca, [system, user]) == "SYSTEM: S\nUSER:  U \nASSISTANT:")
        #expect(try r(.deepseek, [user, assistant]) == "### Instruction:\n U \n### Response:\nA\n<|EOT|>\n### Response:\n")
        #expect(try r(.deepseek3, [system, user]) == "S\n\n<｜User｜> U <｜Assistant｜>")
        #expect(try r(.commandR, [user]) == "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>U<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>")
        #expect(try r(.openchat, [system, user]) == "S<|end_of_turn|>GPT4 Correct User:  U <|end_of_turn|>GPT4 Correct Assistant:")
        #expect(try r(.orion, [system, user, assistant]) == "Human: S\n\n U \n\nAssistant: </s>A</s>")
        #expect(try r(.chatglm4, [user]) == "[gMASK]<sop><|user|>\n U <|assistant|>\n")
        #expect(try r(.granite, [user]) == "<|start_of_role|>user<|end_of_role|> U <|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>\n")
        #expect(try r(.rwkvWorld, [user]) == "User: U\n\nAssistant:")
        #expect(try r(.llama4, [user]) == "<|header_start|>user<|header_end|>\n\nU<|eot|><|header_start|>assistant<|header_end|>\n\n")
    }

    @Test func contentPartsAndExtraFieldsReachTemplates() throws {
        let t = try ChatTemplate(source: """
        {% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}[{{ p.type }}:{{ p.text }}]{% endfor %}{% endif %}{{ m.tool_calls[0].function.arguments | tojson if m.tool_calls }}{% endfor %}{{ enable_thinking }}|{{ tools | length }}
        """)
        let msgs = try JSONValue.parse("""
        [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image"}]},
         {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"b": 1, "a": [true, null]}}}]}]
        """)
        guard case .array(let m) = msgs else { Issue.record("bad json"); return }
        let out = try t.render(messages: m, tools: [["type": "function"]], extra: ["enable_thinking": false])
        #expect(out == #"[text:hi][image:]{"b": 1, "a": [true, null]}False|1"#)
    }

    @Test func jsonNumbersReachTemplatesAsPythonIntsAndFloats() throws {
        // As after json.loads: integers stay int, a fraction or an exponent makes a float, and
        // tojson writes the members in their order with json.dumps' separators.
        let t = try ChatTemplate(source: "{% for m in messages %}{{ m.n }} {{ m.f }} {{ m.e }}|{{ m | tojson }}{% endfor %}")
        let msgs = try JSONValue.parse(#"[{"role": "user", "n": 2, "f": 1.50, "e": 1E2, "ok": true, "none": null, "list": [1, "x"]}]"#)
        let out = try t.render(messages: msgs.arrayValue ?? [])
        #expect(out == #"2 1.5 100.0|{"role": "user", "n": 2, "f": 1.5, "e": 100.0, "ok": true, "none": null, "list": [1, "x"]}"#)
    }

    @Test func repeatedKeysReadAsAPythonDict() throws {
        // json.loads keeps a repeated key's first position and its last value; Jinja and
        // built-in templates both see that.
        let msgs = try JSONValue.parse(#"[{"role": "user", "content": "a", "role": "assistant"}]"#).arrayValue ?? []
        let jinja = try ChatTemplate(source: "{% for m in messages %}{{ m.role }} {{ m | tojson }}{% endfor %}")
        #expect(try jinja.render(messages: msgs) == #"assistant {"role": "assistant", "content": "a"}"#)
        let chatml = ChatTemplate(builtin: .chatml)
        #expect(try chatml.render(messages: msgs, addGenerationPrompt: false) == "<|im_start|>assistant\na<|im_end|>\n")
    }
}
