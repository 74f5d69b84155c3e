import Foundation
import Testing
import JSON
@testable import Templates

/// OpenAI's gpt-oss chat template (the Harmony format; committed as a fixture with its
/// provenance, Fixtures/gpt-oss/README.md) renders exactly as Python jinja2 renders it, on the
/// conversations of `scripts/gen-gpt-oss-template-cases.py` (Fixtures/gpt-oss/cases.json).
struct GptOssTemplateTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gpt-oss")

    @Test func everyCaseMatchesJinja2() throws {
        let source = try String(contentsOf: Self.dir.appendingPathComponent("openai-gpt-oss-120b.jinja"), encoding: .utf8)
        let template = try ChatTemplate(source: source)
        guard case .object(let cases) = try JSONValue.parse(utf8: Array(Data(contentsOf: Self.dir.appendingPathComponent("cases.json")))) else {
            Issue.record("cases.json malformed"); return
        }
        #expect(cases.count == 12)
        let options = RenderOptions(strftimeNow: { _ in "2026-11-26" })
        for (name, c) in cases {
            guard case .array(let messages)? = c["messages"], case .bool(let addGen)? = c["add_generation_prompt"],
                  case .object(let kwargs)? = c["kwargs"] else { Issue.record("\(name): malformed"); continue }
            var tools: [JSONValue]? = nil
            if case .array(let t)? = c["tools"] { tools = t }
            var extra: [String: JSONValue] = [:]
            for (k, v) in kwargs { extra[k] = v }
            let result = Result { try template.render(messages: messages, addGenerationPrompt: addGen, tools: tools,
                                                      extra: extra, options: options) }
            switch (result, c["output"], c["error"]) {
            case (.success(let out), .string(let want)?, _):
                #expect(out == want, "\(name): got\n\(out)\nwant\n\(want)")
            case (.failure(let e as TemplateError), _, .string(let message)?):
                #expect(e.kind == .raised && e.message == message, "\(name): \(e)")
            default:
                Issue.record("\(name): \(result), jinja2: \(c["output"]?.description ?? c["error"]?.description ?? "?")")
            }
        }
    }
}
