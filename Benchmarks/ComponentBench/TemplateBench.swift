import Foundation
import JSON
import Templates

/// Chat-template parse and render time for a four-message chat.
struct TemplateBench {
    let templateFile: String?

    /// A tool-calling chat template written for this benchmark (loops, conditionals, filters,
    /// `tojson`, string methods): about the work of a real model's template.
    static let sample = """
    {{- bos_token }}
    {%- if tools %}
        {{- '<|system|>\\nYou can call these tools:\\n' }}
        {%- for tool in tools %}{{ tool | tojson }}{{ '\\n' }}{% endfor %}
        {%- if messages[0].role == 'system' %}{{ messages[0].content | trim }}{% endif %}
        {{- '<|end|>\\n' }}
    {%- elif messages[0].role == 'system' %}
        {{- '<|system|>\\n' + messages[0].content | trim + '<|end|>\\n' }}
    {%- endif %}
    {%- for message in messages %}
        {%- if message.role == 'system' %}{% continue %}{% endif %}
        {%- if message.role == 'assistant' and message.tool_calls %}
            {{- '<|assistant|>\\n' }}
            {%- for call in message.tool_calls %}
                {{- '<tool_call>' + {'name': call.function.name, 'arguments': call.function.arguments} | tojson + '</tool_call>' }}
            {%- endfor %}
            {{- '<|end|>\\n' }}
        {%- else %}
            {{- '<|' + message.role + '|>\\n' + (message.content | default('', true) | trim) + '<|end|>\\n' }}
        {%- endif %}
    {%- endfor %}
    {%- if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}
    """

    func run() throws {
        let source = try templateFile.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? Self.sample
        let messages: [JSONValue] = [
            ["role": "system", "content": "You are a helpful assistant."],
            ["role": "user", "content": "What is the capital of France?"],
            ["role": "assistant", "content": "The capital of France is Paris."],
            ["role": "user", "content": "And of Germany?"],
        ]
        let tools: [JSONValue] = [
            ["type": "function", "function": ["name": "lookup", "description": "Look a city up",
                                              "parameters": ["type": "object", "properties": ["city": ["type": "string"]]]]],
        ]
        let options = RenderOptions(strftimeNow: { _ in "26 Nov 2026" })
        let template = try ChatTemplate(source: source)
        func render() throws -> String {
            try template.render(messages: messages, addGenerationPrompt: true, tools: tools, bosToken: "<s>", eosToken: "</s>",
                                options: options)
        }
        let output = try render()
        let renders = 2000, parses = 200
        let renderTime = try seconds { for _ in 0..<renders { _ = try render() } }
        let parseTime = try seconds { for _ in 0..<parses { _ = try ChatTemplate(source: source) } }
        print("## Templates: \(templateFile ?? "built-in sample template"), 4 messages + 1 tool (\(output.utf8.count) bytes out)")
        print(String(format: "  parse %.1f µs, render %.1f µs", parseTime * 1e6 / Double(parses), renderTime * 1e6 / Double(renders)))
    }
}
