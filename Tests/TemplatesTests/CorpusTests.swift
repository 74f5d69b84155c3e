import Foundation
import Testing
@testable import Templates

/// Locates `../shared/chat-templates` relative to the package root (found from this file's path).
enum Corpus {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dir = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/chat-templates")
    static let referenceDir = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/gemma3-270m")

    static func load(_ name: String) throws -> TemplateValue {
        try TemplateValue(jsonData: Data(contentsOf: dir.appendingPathComponent(name)))
    }

    static func template(_ file: String) throws -> String {
        try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
    }

    /// The harness fixes `strftime_now` to this value (see the corpus README).
    static let options = RenderOptions(strftimeNow: { _ in "26 Nov 2026" })

    /// Renders one corpus case exactly as the README describes the reference run.
    static func render(_ source: String, _ c: TemplateValue) throws -> String {
        let template = try ChatTemplate(source: source)
        guard case .array(let messages)? = c["messages"] else { throw TemplateError(.type, "bad case") }
        var tools: [TemplateValue]? = nil
        if case .array(let t)? = c["tools"] { tools = t }
        var bos = "", eos = ""
        if case .string(let s)? = c["bos_token"] { bos = s }
        if case .string(let s)? = c["eos_token"] { eos = s }
        var addGen = false
        if case .bool(let b)? = c["add_generation_prompt"] { addGen = b }
        return try template.render(messages: messages, addGenerationPrompt: addGen, tools: tools,
                                   bosToken: bos, eosToken: eos, options: options)
    }
}

@Suite struct CorpusTests {
    /// Pairs we cannot match, with the reason. Keep empty if at all possible.
    static let knownFailures: [String: String] = [:]

    @Test func everyExpectedPairMatchesJinja2() throws {
        guard case .array(let cases) = try Corpus.load("cases.json"),
              case .object(let expected) = try Corpus.load("expected.json") else {
            Issue.record("corpus files malformed"); return
        }
        var byName: [String: TemplateValue] = [:]
        for c in cases { if case .string(let n)? = c["name"] { byName[n] = c } }
        var sources: [String: String] = [:]
        var passed = 0
        var failures: [String] = []
        for (key, exp) in expected {
            let parts = key.split(separator: "|").map(String.init)
            guard parts.count == 2, let c = byName[parts[1]] else { Issue.record("bad key \(key)"); continue }
            if sources[parts[0]] == nil { sources[parts[0]] = try Corpus.template(parts[0]) }
            let source = sources[parts[0]] ?? ""
            var ok = false
            var detail = ""
            do {
                let out = try Corpus.render(source, c)
                if case .string(let want)? = exp["output"] {
                    ok = out == want
                    if !ok { detail = "got:\n\(out.debugDescription)\nwant:\n\(want.debugDescription)" }
                } else {
                    detail = "rendered but jinja2 raised \(exp["error"]?.description ?? "")"
                }
            } catch let e as TemplateError {
                if case .string(let errType)? = exp["error_type"], case .string(let msg)? = exp["error"] {
                    // raise_exception messages must match; Python TypeError/UndefinedError only need to throw.
                    ok = errType == "TemplateError" ? (e.kind == .raised && e.message == msg) : e.kind != .raised
                    if !ok { detail = "threw \(e) but expected \(errType): \(msg)" }
                } else {
                    detail = "threw \(e)"
                }
            }
            if ok {
                passed += 1
                if Self.knownFailures[key] != nil { Issue.record("\(key) is listed as a known failure but passes") }
            } else if Self.knownFailures[key] == nil {
                failures.append("\(key): \(detail)")
            }
        }
        print("corpus: \(passed)/\(expected.count) pairs match jinja2")
        for f in failures.sorted() {
            Issue.record(Comment(rawValue: f))
        }
        #expect(failures.isEmpty)
    }
}
