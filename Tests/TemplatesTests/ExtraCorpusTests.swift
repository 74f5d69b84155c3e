import Foundation
import Testing
@testable import Templates

/// Corpus templates on extra conversations (content parts, reasoning, parallel tool calls),
/// expected outputs from Python jinja2 via scripts/gen-template-extra-cases.py.
@Suite struct ExtraCorpusTests {
    @Test func extraConversationsMatchJinja2() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/extra-cases.json")
        guard case .object(let all) = try TemplateValue(jsonData: Data(contentsOf: url)) else {
            Issue.record("fixture malformed"); return
        }
        var passed = 0
        for (key, exp) in all {
            let file = String(key.split(separator: "|")[0])
            let source = try Corpus.template(file)
            guard case .array(let msgs)? = exp["messages"] else { Issue.record("\(key): no messages"); continue }
            var tools: [TemplateValue]? = nil
            if case .array(let t)? = exp["tools"] { tools = t }
            do {
                let out = try ChatTemplate(source: source).render(
                    messages: msgs, addGenerationPrompt: true, tools: tools, bosToken: "<s>", eosToken: "</s>",
                    extra: ["enable_thinking": false], options: Corpus.options)
                if case .string(let want)? = exp["output"] {
                    #expect(out == want, "\(key)")
                    if out == want { passed += 1 }
                } else {
                    Issue.record("\(key): rendered, but jinja2 raised \(exp["error"]?.description ?? "")")
                }
            } catch let e as TemplateError {
                if case .string(let type)? = exp["error_type"], case .string(let msg)? = exp["error"] {
                    let ok = type == "TemplateError" ? (e.kind == .raised && e.message == msg) : e.kind != .raised
                    #expect(ok, "\(key): threw \(e), jinja2 raised \(type): \(msg)")
                    if ok { passed += 1 }
                } else {
                    Issue.record("\(key): threw \(e)")
                }
            }
        }
        print("extra corpus: \(passed)/\(all.count) match jinja2")
    }
}
