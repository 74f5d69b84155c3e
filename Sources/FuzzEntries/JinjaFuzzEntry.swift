import JSON
import Templates

/// Fuzzes the Jinja lexer, parser and interpreter: chat templates come from model files,
/// `--chat-template` and requests. Input is the template source, optionally followed by a NUL
/// and JSON for extra variables. Rendering runs with a small step budget so a looping input
/// ends quickly with a limit error instead of timing the fuzzer out.
enum JinjaFuzzEntry {
    static let options = RenderOptions(strftimeNow: { _ in "26 Nov 2026" }, maxSteps: 20_000)

    static let messages: [JSONValue] = [
        .object([("role", "system"), ("content", "You are helpful.")]),
        .object([("role", "user"), ("content", "Hi <b>there</b> {{ x }}")]),
        .object([("role", "assistant"), ("content", "Hello!"), ("tool_calls", .array([
            .object([("function", .object([("name", "f"), ("arguments", .object([("a", 1), ("b", [1.5, "x", nil])]))]))]),
        ]))]),
        .object([("role", "user"), ("content", .array([.object([("type", "text"), ("text", "part")])]))]),
    ]

    static func run(_ bytes: [UInt8]) {
        let (sourceBytes, varsBytes) = splitAtNUL(bytes)
        guard let template = try? ChatTemplate(source: String(decoding: sourceBytes, as: UTF8.self)) else { return }
        var variables: [String: JSONValue] = [
            "messages": .array(messages), "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
            "tools": .array([.object([("type", "function"), ("function", .object([("name", "f"), ("parameters", .object([("type", "object")]))]))])]),
        ]
        if !varsBytes.isEmpty, case .object(let pairs)? = try? JSONValue.parse(String(decoding: varsBytes, as: UTF8.self)) {
            for (k, v) in pairs { variables[k] = v }
        }
        _ = try? template.render(variables: variables, options: options)
        _ = try? template.render(messages: messages, addGenerationPrompt: false, tools: nil,
                                 bosToken: "", eosToken: "", options: options)
    }
}
