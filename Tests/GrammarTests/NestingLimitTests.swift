import Foundation
import XCTest
@testable import Grammar
import JSON
import TestSupport


/// Every recursive parser and walker in Grammar has an explicit bound; input past it is an
/// error that says so, input just inside it still works, and neither crashes on a small stack.
final class NestingLimitTests: XCTestCase {
    // MARK: GBNF

    func gbnfError(_ text: String) -> GrammarError? {
        onSmallStack { () -> GrammarError? in
            do { _ = try Grammar.parse(text); return nil } catch { return error as? GrammarError }
        }
    }

    func testHundredThousandNestedGroupsIsAnError() {
        let text = "root ::= " + String(repeating: "(", count: 100_000) + "\"x\"" + String(repeating: ")", count: 100_000)
        let err = gbnfError(text)
        XCTAssertEqual(err?.kind, .nestingTooDeep)
        XCTAssertTrue(err?.message.contains("nested too deeply") ?? false, "\(String(describing: err))")
    }

    func testUnclosedDeepGroupsIsAnError() {
        XCTAssertEqual(gbnfError("root ::= " + String(repeating: "(", count: 100_000))?.kind, .nestingTooDeep)
    }

    func testGroupsAtTheLimitParseAndMatch() {
        let d = GBNFParser.maxNestingDepth
        let text = "root ::= " + String(repeating: "(", count: d) + "\"x\"" + String(repeating: ")", count: d) + "+"
        let ok = onSmallStack { () -> Bool in
            guard let g = try? Grammar.parse(text) else { return false }
            return GrammarMatcher(grammar: g).matchesCompletely("xxx")
        }
        XCTAssertTrue(ok)
        let over = "root ::= " + String(repeating: "(", count: d + 1) + "\"x\"" + String(repeating: ")", count: d + 1)
        XCTAssertEqual(gbnfError(over)?.kind, .nestingTooDeep)
    }

    /// `r0 ::= r1 "a"`, `r1 ::= r2 "a"`, …: the matcher expands the whole chain before the
    /// first character, so that expansion must not recurse per rule.
    func testLongChainOfLeadingRulesMatchesOnASmallStack() {
        let n = 100_000
        var text = ""
        for i in 0..<n { text += "r\(i) ::= r\(i + 1) \"a\"\n" }
        text += "r\(n) ::= \"b\"\n"
        let grammarText = text
        let result = onSmallStack { () -> (Bool, Bool) in
            guard let g = try? Grammar.parse(grammarText, root: "r0") else { return (false, false) }
            let m = GrammarMatcher(grammar: g)
            return (m.accept("b"), m.accepts(tokenBytes: Array("aaa".utf8)))
        }
        XCTAssertTrue(result.0)
        XCTAssertTrue(result.1)
    }

    /// A stack as deep as the text generated (`root ::= "(" root ")" | "x"`) is copied when the
    /// matcher compacts its arena; the copy must not recurse per frame.
    func testCompactingADeepStackWorksOnASmallStack() throws {
        let g = try Grammar.parse(#"root ::= "(" root ")" | "x""#)
        let depth = 50_000
        let ok = onSmallStack { () -> Bool in
            let m = GrammarMatcher(grammar: g)
            guard m.accept(String(repeating: "(", count: depth)) else { return false }
            m.compact()
            guard m.accept("x" + String(repeating: ")", count: depth)) else { return false }
            return m.canEnd
        }
        XCTAssertTrue(ok)
    }

    func testRepetitionsThatExpandTooFarAreAnError() {
        let many = (0..<40).map { _ in "\"a\"{0,10000}" }.joined(separator: " ")
        let err = gbnfError("root ::= " + many)
        XCTAssertEqual(err?.kind, .repetitionTooLarge)
        XCTAssertNil(gbnfError("root ::= " + (0..<20).map { _ in "\"a\"{0,10000}" }.joined(separator: " ")))
    }

    // MARK: regex → grammar

    func patternError(_ pattern: String) -> SchemaConversionError? {
        let schema = JSONValue.object([("type", .string("string")), ("pattern", .string(pattern))])
        return onSmallStack { () -> SchemaConversionError? in
            do {
                let r = try JSONSchemaConverter.convert(schema: schema)
                _ = try Grammar.parse(r.gbnf)
                return nil
            } catch let e as SchemaConversionError {
                return e
            } catch {
                return .invalidSchema("grammar error: \(error)", path: "")
            }
        }
    }

    func assertTooDeep(_ err: SchemaConversionError?, file: StaticString = #filePath, line: UInt = #line) {
        guard case .invalidPattern(_, let message)? = err else {
            return XCTFail("expected invalidPattern, got \(String(describing: err))", file: file, line: line)
        }
        XCTAssertTrue(message.contains("nested too deeply"), message, file: file, line: line)
    }

    func testDeepRegexGroupsAreAnError() {
        assertTooDeep(patternError(String(repeating: "(", count: 100_000) + "a" + String(repeating: ")", count: 100_000)))
        assertTooDeep(patternError(String(repeating: "(?:", count: 100_000)))
    }

    func testStackedQuantifiersAreAnErrorOrCollapse() throws {
        assertTooDeep(patternError("a" + String(repeating: "{1,2}", count: 10_000)))
        // An unbounded repetition of a repetition is the inner one starred: `a**…` is `a*`.
        XCTAssertNil(patternError("^a" + String(repeating: "*", count: 100_000) + "$"))
    }

    /// Found by the jsonschema fuzz target: `(x*)*` became a GBNF repetition of something
    /// that can match nothing, which our own grammar parser rejects as left recursion.
    func testUnboundedRepetitionOfSomethingEmptyIsHandled() throws {
        let g = try JSONSchemaConverter.grammar(schemaJSON: #"{"type": "string", "pattern": "^(b[z]*)*(c?)+$"}"#)
        XCTAssertTrue(GrammarMatcher(grammar: g).matchesCompletely(#""bzzbc""#))
        XCTAssertFalse(GrammarMatcher(grammar: g).matchesCompletely(#""zb""#))
        guard case .invalidPattern(_, let message)? = patternError("^(a|b?)*$") else {
            return XCTFail("expected invalidPattern")
        }
        XCTAssertTrue(message.contains("empty string"), message)
    }

    func testRegexAtTheLimitConvertsAndMatches() throws {
        let d = RegexToGrammar.maxNestingDepth
        // Each `( … ){1}` level is one repetition and the anchored sequence is one more, so
        // `nested(d - 1)` has height exactly d (and still means just "a").
        func nested(_ levels: Int) -> String {
            "^" + String(repeating: "(", count: levels) + "a" + String(repeating: "){1}", count: levels) + "$"
        }
        XCTAssertNil(patternError(nested(d - 1)))
        let g = try JSONSchemaConverter.grammar(schemaJSON: #"{"type": "string", "pattern": "\#(nested(d - 1))"}"#)
        XCTAssertTrue(GrammarMatcher(grammar: g).matchesCompletely(#""a""#))
        XCTAssertFalse(GrammarMatcher(grammar: g).matchesCompletely(#""aa""#))
        assertTooDeep(patternError(nested(d)))
    }

    // MARK: JSON schema → grammar

    func schemaError(_ json: String) -> SchemaConversionError? {
        onSmallStack { () -> SchemaConversionError? in
            do { _ = try JSONSchemaConverter.grammar(schemaJSON: json); return nil } catch { return error as? SchemaConversionError }
        }
    }

    func nestedObjects(_ levels: Int) -> String {
        String(repeating: #"{"type": "object", "properties": {"a": "#, count: levels) + #"{"type": "integer"}"#
            + String(repeating: "}, \"required\": [\"a\"]}", count: levels)
    }

    func assertSchemaTooDeep(_ err: SchemaConversionError?, _ phrase: String = "nested too deeply",
                             file: StaticString = #filePath, line: UInt = #line) {
        guard case .invalidSchema(let message, _)? = err else {
            return XCTFail("expected invalidSchema, got \(String(describing: err))", file: file, line: line)
        }
        XCTAssertTrue(message.contains(phrase), message, file: file, line: line)
    }

    func testDeeplyNestedSchemaIsAnError() {
        // 200 levels of objects are 400 levels of JSON: within the JSON parser's limit.
        assertSchemaTooDeep(schemaError(nestedObjects(200)))
    }

    func testNestedSchemaUnderTheLimitWorks() throws {
        let levels = JSONSchemaConverter.maxNestingDepth - 1
        XCTAssertNil(schemaError(nestedObjects(levels)))
        let g = try JSONSchemaConverter.grammar(schemaJSON: nestedObjects(levels))
        let doc = String(repeating: #"{"a":"#, count: levels) + "7" + String(repeating: "}", count: levels)
        XCTAssertTrue(GrammarMatcher(grammar: g).matchesCompletely(doc))
    }

    func testLongRefChainIsAnError() {
        let n = 100_000
        var defs: [String] = []
        for i in 0..<n { defs.append(##""d\##(i)": {"$ref": "#/$defs/d\##(i + 1)"}"##) }
        defs.append(#""d\#(n)": {"type": "integer"}"#)
        let json = ##"{"$ref": "#/$defs/d0", "$defs": {"## + defs.joined(separator: ",") + "}}"
        assertSchemaTooDeep(schemaError(json))
    }

    func testRefToItselfWithSiblingsIsAnErrorNotAnEndlessRecursion() {
        let json = ##"{"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a", "type": "object"}}}"##
        assertSchemaTooDeep(schemaError(json))
    }

    func testAllOfThatDoublesPerLevelIsTooComplex() {
        // d_i = allOf[d_{i+1}, d_{i+1}]: 40 levels inline 2^40 schemas.
        let n = 40
        var defs: [String] = []
        for i in 0..<n { defs.append(##""d\##(i)": {"allOf": [{"$ref": "#/$defs/d\##(i + 1)"}, {"$ref": "#/$defs/d\##(i + 1)"}]}"##) }
        defs.append(#""d\#(n)": {"type": "object", "properties": {"x": {"type": "integer"}}}"#)
        let json = ##"{"$ref": "#/$defs/d0", "$defs": {"## + defs.joined(separator: ",") + "}}"
        assertSchemaTooDeep(schemaError(json), "too complex")
    }

    func testLongPropertyNamesGiveBoundedRuleNames() throws {
        let key = String(repeating: "k", count: 5_000)
        let json = #"{"type": "object", "properties": {"\#(key)": {"type": "object", "properties": {"\#(key)": {"type": "string", "minLength": 2}}}}}"#
        let r = try JSONSchemaConverter.convert(schemaJSON: json)
        for line in r.gbnf.split(separator: "\n") {
            let name = line.prefix { $0 != " " }
            XCTAssertLessThanOrEqual(name.count, JSONSchemaConverter.maxRuleNameLength + 2, String(name))
        }
        XCTAssertNoThrow(try Grammar.parse(r.gbnf))
    }

    // MARK: JSON

    func testDeepJSONIsAnError() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let message = onSmallStack { () -> String? in
            do { _ = try JSONValue.parse(text); return nil } catch { return (error as? JSONParseError)?.message ?? "\(error)" }
        }
        XCTAssertTrue(message?.contains("nesting too deep") ?? false, String(describing: message))
        let ok = onSmallStack { () -> Bool in
            (try? JSONValue.parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500))) != nil
        }
        XCTAssertTrue(ok)
    }
}
