import Foundation
import Testing
import JSON
@testable import Templates

/// Test data of the template tests. The corpus of real models' chat templates is third-party
/// text and stays outside the repository, in `../shared/chat-templates` beside it (CI has it);
/// llama.cpp's recorded renders for the test model are in the repository.
enum Corpus {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dir = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/chat-templates")
    /// llama.cpp's and jinja2's recorded renders (Tests/Fixtures/reference/README.md).
    static let referenceDir = packageRoot.appendingPathComponent("Tests/Fixtures/reference/gemma3-270m")
    /// The full recording beside the repository, which also holds Google's Gemma 3 template source.
    static let gemma3Recording = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/reference/gemma3-270m/chat_template_python_jinja2.json")

    /// Whether the third-party templates are there; the tests that need them are skipped otherwise.
    static let isPresent = FileManager.default.fileExists(atPath: dir.appendingPathComponent("expected.json").path)
        && FileManager.default.fileExists(atPath: gemma3Recording.path)

    static func load(_ name: String) throws -> JSONValue {
        try JSONValue.parse(utf8: Array(Data(contentsOf: dir.appendingPathComponent(name))))
    }

    static func template(_ file: String) throws -> String {
        try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
    }

    /// The corpus's template files, from its index.
    static func templateFiles() throws -> Set<String> {
        guard case .array(let index) = try load("index.json") else { return [] }
        var files = Set<String>()
        for entry in index { if case .string(let f)? = entry["file"] { files.insert(f) } }
        return files
    }

    /// The harness fixes `strftime_now` to this value (see the corpus README).
    static let options = RenderOptions(strftimeNow: { _ in "26 Nov 2026" })

    /// Renders one corpus case exactly as the README describes the reference run.
    static func render(_ source: String, _ c: JSONValue) throws -> String {
        let template = try ChatTemplate(source: source)
        guard case .array(let messages)? = c["messages"] else { throw TemplateError(.type, "bad case") }
        var tools: [JSONValue]? = nil
        if case .array(let t)? = c["tools"] { tools = t }
        var bos = "", eos = ""
        if case .string(let s)? = c["bos_token"] { bos = s }
        if case .string(let s)? = c["eos_token"] { eos = s }
        var addGen = false
        if case .bool(let b)? = c["add_generation_prompt"] { addGen = b }
        return try template.render(messages: messages, addGenerationPrompt: addGen, tools: tools,
                                   bosToken: bos, eosToken: eos, options: options)
    }

    /// The render's text or its template error (other errors are rethrown: they fail the test).
    static func attempt(_ render: () throws -> String) throws -> Result<String, TemplateError> {
        do { return .success(try render()) } catch let e as TemplateError { return .failure(e) }
    }

    /// Whether a render (or its error) is what jinja2 gave: `raise_exception` messages must match;
    /// Python's TypeError/UndefinedError only need a non-raised error (their wording is Python's).
    static func matches(_ result: Result<String, TemplateError>, _ expected: JSONValue) -> (ok: Bool, detail: String) {
        switch result {
        case .success(let out):
            guard case .string(let want)? = expected["output"] else {
                return (false, "rendered, but jinja2 raised \(expected["error"]?.description ?? "")")
            }
            return (out == want, out == want ? "" : "got:\n\(out.debugDescription)\nwant:\n\(want.debugDescription)")
        case .failure(let e):
            guard case .string(let type)? = expected["error_type"], case .string(let message)? = expected["error"] else {
                return (false, "threw \(e)")
            }
            let ok = type == "TemplateError" ? (e.kind == .raised && e.message == message) : e.kind != .raised
            return (ok, ok ? "" : "threw \(e), jinja2 raised \(type): \(message)")
        }
    }
}

/// Real models' chat templates against Python jinja2's renders of them.
@Suite(.enabled(if: Corpus.isPresent, """
    not found: ../shared/chat-templates and ../shared/reference beside the repository (third-party \
    chat templates, kept outside it); the template corpus tests did not run
    """))
struct CorpusTests {
    /// Pairs we cannot match, with the reason. Keep empty if at all possible.
    static let knownFailures: [String: String] = [:]

    /// Every template of the corpus on every case of `cases.json` (expected.json, jinja2 3.1.6).
    @Test func everyExpectedPairMatchesJinja2() throws {
        guard case .array(let cases) = try Corpus.load("cases.json"),
              case .object(let expected) = try Corpus.load("expected.json") else {
            Issue.record("corpus files malformed"); return
        }
        // The whole corpus is there: one expected result per (template, case).
        let files = try Corpus.templateFiles()
        #expect(!files.isEmpty && cases.count == 8)
        #expect(expected.count == files.count * cases.count)
        #expect(Set(expected.map { String($0.0.split(separator: "|")[0]) }) == files)
        var byName: [String: JSONValue] = [:]
        for c in cases { if case .string(let n)? = c["name"] { byName[n] = c } }
        var sources: [String: String] = [:]
        var passed = 0
        var failures: [String] = []
        for (key, exp) in expected {
            let parts = key.split(separator: "|").map(String.init)
            guard parts.count == 2, let c = byName[parts[1]] else { Issue.record("bad key \(key)"); continue }
            if sources[parts[0]] == nil { sources[parts[0]] = try Corpus.template(parts[0]) }
            let result = try Corpus.attempt { try Corpus.render(sources[parts[0]] ?? "", c) }
            let (ok, detail) = Corpus.matches(result, exp)
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
        #expect(passed == expected.count - Self.knownFailures.count)
    }

    /// Corpus templates on extra conversations (content parts, reasoning, parallel tool calls),
    /// expected outputs from Python jinja2 via scripts/gen-template-extra-cases.py
    /// (Fixtures/extra-cases.json: rendered outputs only, the templates stay in the corpus).
    @Test func extraConversationsMatchJinja2() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/extra-cases.json")
        guard case .object(let all) = try JSONValue.parse(utf8: Array(Data(contentsOf: url))) else {
            Issue.record("fixture malformed"); return
        }
        // Every corpus template has its extra cases.
        let files = try Corpus.templateFiles()
        #expect(!files.isEmpty && Set(all.map { String($0.0.split(separator: "|")[0]) }) == files)
        var passed = 0
        for (key, exp) in all {
            let source = try Corpus.template(String(key.split(separator: "|")[0]))
            guard case .array(let msgs)? = exp["messages"] else { Issue.record("\(key): no messages"); continue }
            var tools: [JSONValue]? = nil
            if case .array(let t)? = exp["tools"] { tools = t }
            let result = try Corpus.attempt {
                try ChatTemplate(source: source).render(
                    messages: msgs, addGenerationPrompt: true, tools: tools, bosToken: "<s>", eosToken: "</s>",
                    extra: ["enable_thinking": false], options: Corpus.options)
            }
            let (ok, detail) = Corpus.matches(result, exp)
            #expect(ok, "\(key): \(detail)")
            if ok { passed += 1 }
        }
        print("extra corpus: \(passed)/\(all.count) match jinja2")
        #expect(!all.isEmpty && passed == all.count)
    }

    /// Google's Gemma 3 template (source in the full recording beside the repository) gives what
    /// Python jinja2 and llama-server rendered (their outputs: Tests/Fixtures/reference).
    @Test func gemma3JinjaMatchesPythonAndServer() throws {
        guard case .string(let source)? = try JSONValue.parse(utf8: Array(Data(contentsOf: Corpus.gemma3Recording)))["template_source"] else {
            Issue.record("no template_source in \(Corpus.gemma3Recording.path)"); return
        }
        let py = try reference("python_jinja2")
        let t = try ChatTemplate(source: source)
        for (msgKey, outKey) in [("messages", "rendered"), ("messages_4turn", "rendered_4turn")] {
            let out = try t.render(messages: try messages(py, msgKey), addGenerationPrompt: true, bosToken: "<bos>")
            #expect(JSONValue.string(out) == py[outKey])
        }
        // llama-server's /apply-template shows the same text without the leading BOS.
        let server = try reference("gemma3-jinja")
        let out = try t.render(messages: try messages(server), addGenerationPrompt: true, bosToken: "<bos>")
        #expect(JSONValue.string(String(out.dropFirst("<bos>".count))) == server["apply_template_prompt"])
    }
}
