import Foundation
import Testing
@testable import Templates
import TestSupport


/// The outcome of rendering on a small stack: the output, or the error.
func renderOnSmallStack(_ template: String, options: RenderOptions = Corpus.options) -> Result<String, TemplateError> {
    onSmallStack { () -> Result<String, TemplateError> in
        do {
            return .success(try ChatTemplate(source: template).render(variables: [:], options: options))
        } catch let e as TemplateError {
            return .failure(e)
        } catch {
            return .failure(TemplateError(.type, "unexpected error \(error)"))
        }
    }
}

/// Hostile templates (from a request, a model file or `--chat-template`) end in a TemplateError
/// that names the limit, never in a stack overflow, an endless loop or unbounded memory.
@Suite struct LimitTests {
    func expectError(_ template: String, _ kind: TemplateError.Kind, _ phrase: String,
                     options: RenderOptions = Corpus.options, sourceLocation: SourceLocation = #_sourceLocation) {
        switch renderOnSmallStack(template, options: options) {
        case .success(let out):
            Issue.record("expected an error, rendered \(out.prefix(80))", sourceLocation: sourceLocation)
        case .failure(let e):
            #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
            #expect(e.message.contains(phrase), "\(e)", sourceLocation: sourceLocation)
        }
    }

    func expectOutput(_ template: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        switch renderOnSmallStack(template) {
        case .success(let out): #expect(out == expected, sourceLocation: sourceLocation)
        case .failure(let e): Issue.record("unexpected error \(e)", sourceLocation: sourceLocation)
        }
    }

    // MARK: parsing

    @Test func deepParenthesesAreASyntaxError() {
        let n = 100_000
        expectError("{{ " + String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n) + " }}",
                    .syntax, "nesting too deep")
    }

    @Test func deepStatementNestingIsASyntaxError() {
        let n = 10_000
        expectError(String(repeating: "{% if true %}", count: n) + "x" + String(repeating: "{% endif %}", count: n),
                    .syntax, "nesting too deep")
    }

    @Test(arguments: [" + 1", ".a", "|string", "[0]", "(1)", " ~ 'a'", " * 1", " and 1", " is defined"])
    func longOperatorChainsAreASyntaxError(link: String) {
        expectError("{{ x" + String(repeating: link, count: 100_000) + " }}", .syntax, "nested too deeply")
    }

    @Test func chainsJustUnderTheLimitRender() {
        let n = Parser.maxExpressionHeight - 1
        expectOutput("{{ 0" + String(repeating: " + 1", count: n) + " }}", String(n))
        expectOutput("{{ 'a'" + String(repeating: "|upper", count: n - 1) + " }}", "A")
        let p = 60  // parentheses also count against the parser's statement/expression depth
        expectOutput("{{ " + String(repeating: "(", count: p) + "2" + String(repeating: ")", count: p) + " }}", "2")
    }

    // MARK: evaluation

    @Test func macroRecursionHitsTheCallDepth() {
        expectError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", .limit, "recursion depth")
    }

    @Test func nestedMacroBodiesHitTheNestingLimitOnASmallStack() {
        // Each call nests 40 if-blocks before recursing: 100 calls would be 4,000 levels.
        let ifs = String(repeating: "{% if true %}", count: 40), ends = String(repeating: "{% endif %}", count: 40)
        expectError("{% macro f(n) %}\(ifs){{ f(n + 1) }}\(ends){% endmacro %}{{ f(0) }}", .limit, "nested more than")
    }

    @Test func branchingRecursionHitsTheStepBudget() {
        // 2^40 calls, each well inside the depth limits.
        let t = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"
        expectError(t, .limit, "steps", options: RenderOptions(strftimeNow: { _ in "" }, maxSteps: 1_000_000))
    }

    @Test func nestedLoopsHitALimit() {
        let t = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        expectError(t, .limit, "too many loop iterations")
    }

    @Test func theStepBudgetIsConfigurable() {
        let t = "{% for i in range(1000) %}{{ i }}{% endfor %}"
        expectError(t, .limit, "exceeded 500 steps", options: RenderOptions(strftimeNow: { _ in "" }, maxSteps: 500))
        #expect(throws: Never.self) { try ChatTemplate(source: t).render(variables: [:]) }
    }

    // MARK: sizes

    @Test func doublingAStringHitsTheSizeLimit() {
        let t = "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
        expectError(t, .limit, "exceed")
    }

    @Test func doublingAListHitsTheSizeLimit() {
        let t = "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}"
        expectError(t, .limit, "items")
    }

    @Test(arguments: [
        "{{ 'abc' * 100000000000 }}",
        "{{ [1, 2] * 100000000000 }}",
        "{{ 'x'|center(100000000000) }}",
        "{{ 'x'.center(100000000000) }}",
        "{{ 'x'.ljust(1000000, 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz') }}",
        "{{ 'x'.zfill(100000000000) }}",
        "{{ 'x'|indent(100000000000, true) }}",
        "{{ '%99999999999d'|format(1) }}",
        "{{ '%100000s' % 'a' }}",
        "{{ ('a' * 1000000).replace('a', 'b' * 1000) }}",
        "{{ ('a' * 1000000).replace('', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb') }}",
        "{{ range(100000)|join('b' * 10000) }}",
        "{{ [1]|batch(100000000000, 0)|list }}",
        "{{ [1]|slice(100000000000)|list }}",
        "{{ [1]|tojson(indent=100000000000) }}",
    ])
    func amplifyingOperationsHitALimit(template: String) {
        switch renderOnSmallStack(template) {
        case .success(let out): Issue.record("rendered \(out.utf8.count) bytes")
        case .failure(let e): #expect(e.kind == .limit, "\(e)")
        }
    }

    @Test func percentFormatWithInfinityIsATypeError() {
        expectError("{{ '%d' % (1e308 * 10) }}", .type, "integer")
    }

    // MARK: values

    @Test func aListThatContainsItselfPrintsWithoutRecursingForever() {
        expectError("{% set l = [1] %}{% set _ = l.append(l) %}{{ l }}", .limit, "contains itself")
        expectError("{% set l = [1] %}{% set _ = l.append(l) %}{{ l|tojson }}", .limit, "contains itself")
        expectOutput("{% set l = [1] %}{% set _ = l.append(l) %}{{ l == l }} {{ (l|string)[:12] }}", "True [1, [1, [1, ")
    }

    @Test func sharedValuesThatDoubleWhenPrintedAreRefused() {
        let t = "{% set ns = namespace(a=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}{% endfor %}{{ ns.a }}"
        expectError(t, .limit, "elements")
    }

    @Test func aValueNestedAMillionLevelsIsFreedOnASmallStack() {
        // Appending to the innermost list builds a chain 300,000 lists deep, which the
        // interpreter frees when it finishes.
        let t = "{% set ns = namespace(top=[], cur=none) %}{% set ns.cur = ns.top %}"
            + "{% for j in range(3) %}{% for i in range(100000) %}"
            + "{% set n = [] %}{% set _ = ns.cur.append(n) %}{% set ns.cur = n %}{% endfor %}{% endfor %}"
            + "{{ ns.top|length }}"
        expectOutput(t, "1")
        expectError(t.replacingOccurrences(of: "{{ ns.top|length }}", with: "{{ ns.top }}"), .limit, "levels deep")
    }

    // MARK: real templates

    /// Every chat template in the corpus still renders every case within the limits, on a
    /// small stack. Skips when ../shared is absent.
    @Test func corpusRendersOnASmallStack() throws {
        guard FileManager.default.fileExists(atPath: Corpus.dir.appendingPathComponent("cases.json").path) else { return }
        guard case .array(let cases) = try Corpus.load("cases.json") else { Issue.record("bad cases.json"); return }
        let files = try FileManager.default.contentsOfDirectory(atPath: Corpus.dir.path).filter { $0.hasSuffix(".jinja") }
        #expect(files.count > 10)
        for file in files {
            let source = try Corpus.template(file)
            let failures = onSmallStack { () -> [String] in
                var out: [String] = []
                for c in cases {
                    do { _ = try Corpus.render(source, c) } catch let e as TemplateError where e.kind == .limit {
                        out.append("\(file): \(e)")
                    } catch {}
                }
                return out
            }
            #expect(failures.isEmpty, "\(failures.prefix(3))")
        }
    }
}
