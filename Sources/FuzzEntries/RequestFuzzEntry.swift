import Grammar
import JSON
import Templates

/// Fuzzes the parsing layer under the /completion and /v1/chat/completions decoders. Those
/// decoders live in Server (which needs Hummingbird, not built for fuzzing); everything they
/// do with untrusted text goes through the calls made here, in the same order: the body is
/// parsed by `JSONValue.parse`, the messages and tools go to a real chat template as they are
/// (as the chat route passes them), `json_schema` / `response_format` schemas go to the
/// converter and then to the GBNF parser, and `grammar` goes to the GBNF parser.
enum RequestFuzzEntry {
    static let template = try! ChatTemplate(source: """
        {{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{% if m.content is string %}{{ m.content }}\
        {% else %}{{ m.content|tojson }}{% endif %}{% if m.tool_calls %}{{ m.tool_calls|tojson(indent=2) }}{% endif %}\
        {% endfor %}{% if tools %}{{ tools|tojson }}{% endif %}{% if add_generation_prompt %}<|assistant|>{% endif %}
        """)

    static func run(_ bytes: [UInt8]) {
        guard let body = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self)) else { return }
        // Printing and re-reading is lossless for everything the parser accepts.
        let printed = body.serialized()
        guard let again = try? JSONValue.parse(printed) else {
            check(false, "serialized JSON does not parse again: \(printed.prefix(200))")
            return
        }
        check(again.serialized() == printed, "JSON serialization is not stable")
        _ = body.serialized(.python(indent: "  "))
        guard case .object = body else { return }

        let messages = body["messages"]?.arrayValue ?? []
        let tools = body["tools"]?.arrayValue ?? []
        if !messages.isEmpty {
            _ = try? template.render(messages: messages, addGenerationPrompt: true, tools: tools.isEmpty ? nil : tools,
                                     bosToken: "<s>", eosToken: "</s>",
                                     options: RenderOptions(strftimeNow: { _ in "" }, maxSteps: 50_000))
        }

        if case .string(let g)? = body["grammar"] { _ = try? Grammar.parse(g) }
        var schemas: [JSONValue] = []
        if let s = body["json_schema"] { schemas.append(s) }
        if let rf = body["response_format"] {
            if let s = rf["schema"] { schemas.append(s) }
            if let s = rf["json_schema"]?["schema"] { schemas.append(s) }
        }
        for schema in schemas {
            guard let r = try? JSONSchemaConverter.convert(schema: schema) else { continue }
            do { _ = try Grammar.parse(r.gbnf) } catch {
                switch error.kind {
                case .leftRecursion, .repetitionTooLarge: continue
                default: break
                }
                check(false, "converted grammar does not parse (\(error)):\n\(r.gbnf)")
            }
        }
    }
}
