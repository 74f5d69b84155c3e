import XCTest
@testable import Grammar

final class JSONSchemaConverterTests: XCTestCase {
    func matcher(_ schema: String, strict: Bool = true) throws -> GrammarMatcher {
        GrammarMatcher(grammar: try JSONSchemaConverter.grammar(schemaJSON: schema, options: .init(strict: strict)))
    }

    func testPropertyOrderFollowsSchema() throws {
        let m = try matcher(#"{"type":"object","properties":{"z":{"type":"integer"},"a":{"type":"integer"}},"required":["a","z"]}"#)
        XCTAssertTrue(m.matchesCompletely(#"{"z":1,"a":2}"#))
        XCTAssertFalse(m.matchesCompletely(#"{"a":2,"z":1}"#))
    }

    func testIntegerRangesExhaustively() throws {
        let cases: [(Int?, Int?)] = [(1, 100), (-37, 512), (nil, -3), (18, nil), (0, 0), (-1000, -999), (7, 7), (95, 1205), (-1205, -95), (nil, 250), (-250, nil)]
        for (lo, hi) in cases {
            var parts: [String] = [#""type":"integer""#]
            if let lo { parts.append("\"minimum\":\(lo)") }
            if let hi { parts.append("\"maximum\":\(hi)") }
            let m = try matcher("{" + parts.joined(separator: ",") + "}")
            for n in -1300...1300 {
                let expected = (lo.map { n >= $0 } ?? true) && (hi.map { n <= $0 } ?? true)
                m.reset()
                XCTAssertEqual(m.matchesCompletely(String(n)), expected, "\(n) in [\(String(describing: lo)), \(String(describing: hi))]")
            }
            m.reset()
            XCTAssertFalse(m.matchesCompletely("-0"))
            m.reset()
            XCTAssertFalse(m.matchesCompletely("007"))
        }
    }

    func testNumberDigitCaps() throws {
        let m = try matcher(#"{"type":"number"}"#)
        XCTAssertTrue(m.matchesCompletely("123456789012345.123456789012345"))
        XCTAssertFalse(m.matchesCompletely("1234567890123456"))
        XCTAssertFalse(m.matchesCompletely("1.1234567890123456"))
        // Once 15 integer digits are in, only '.', 'e', whitespace or the end may follow.
        XCTAssertTrue(m.accept("999999999999999"))
        XCTAssertFalse(m.accepts("9"))
        XCTAssertTrue(m.accepts("."))
    }

    func testWhitespaceIsBounded() throws {
        let m = try matcher(#"{"type":"array","items":{"type":"integer"}}"#)
        XCTAssertTrue(m.matchesCompletely("[\n" + String(repeating: " ", count: 20) + "1]"))
        m.reset()
        XCTAssertFalse(m.matchesCompletely("[\n" + String(repeating: " ", count: 21) + "1]"))
        m.reset()
        XCTAssertFalse(m.matchesCompletely("[\n\n\n1]"))
        m.reset()
        XCTAssertTrue(m.matchesCompletely("[ 1 , 2 ]"))
    }

    func testJSONObjectMode() throws {
        let m = GrammarMatcher(grammar: try Grammar.parse(JSONSchemaConverter.jsonObjectGBNF))
        XCTAssertTrue(m.matchesCompletely(#"{"a":[1,{"b":null}],"c":"d"}"#))
        m.reset()
        XCTAssertFalse(m.matchesCompletely("[1]"))
        m.reset()
        XCTAssertFalse(m.matchesCompletely(#""x""#))
        let any = GrammarMatcher(grammar: try Grammar.parse(JSONSchemaConverter.anyJSONGBNF))
        XCTAssertTrue(any.matchesCompletely("[1]"))
    }

    func testNullable() throws {
        let m = try matcher(#"{"type":"integer","nullable":true}"#)
        XCTAssertTrue(m.matchesCompletely("null"))
        m.reset()
        XCTAssertTrue(m.matchesCompletely("5"))
        m.reset()
        XCTAssertFalse(m.matchesCompletely("\"5\""))
    }

    func testUnsupportedKeywordsThrowInStrictMode() {
        for (schema, keyword) in [(#"{"not":{"type":"string"}}"#, "not"),
                                  (#"{"type":"array","uniqueItems":true}"#, "uniqueItems"),
                                  (#"{"type":"object","properties":{"a":{"type":"number","multipleOf":2}}}"#, "multipleOf"),
                                  (#"{"type":"object","patternProperties":{"^x":{}}}"#, "patternProperties")] {
            XCTAssertThrowsError(try JSONSchemaConverter.convert(schemaJSON: schema)) { error in
                guard case .unsupportedKeyword(let k, _) = error as? SchemaConversionError else {
                    return XCTFail("unexpected error \(error)")
                }
                XCTAssertEqual(k, keyword)
            }
        }
        XCTAssertEqual(
            (try? JSONSchemaConverter.convert(schemaJSON: #"{"type":"object","properties":{"a":{"type":"number","multipleOf":2}}}"#))?.gbnf, nil)
    }

    func testUnsupportedKeywordsWarnWhenNotStrict() throws {
        let r = try JSONSchemaConverter.convert(schemaJSON: #"{"type":"array","uniqueItems":true,"items":{"type":"string","format":"email"}}"#,
                                                options: .init(strict: false))
        XCTAssertEqual(r.warnings.count, 2, r.warnings.description)
        XCTAssertTrue(r.warnings.contains { $0.contains("uniqueItems") })
        XCTAssertTrue(r.warnings.contains { $0.contains("email") })
    }

    func testAnnotationsAreIgnoredQuietly() throws {
        let r = try JSONSchemaConverter.convert(schemaJSON: #"{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"T","description":"d","examples":[1],"default":1,"type":"integer"}"#)
        XCTAssertTrue(r.warnings.isEmpty)
    }

    func testNumberBoundsAreReported() throws {
        let r = try JSONSchemaConverter.convert(schemaJSON: #"{"type":"number","minimum":0.5}"#)
        XCTAssertFalse(r.warnings.isEmpty)
        let m = GrammarMatcher(grammar: try Grammar.parse(r.gbnf))
        XCTAssertFalse(m.accepts("-"))
    }

    func testErrors() {
        func err(_ s: String) -> SchemaConversionError? {
            do { _ = try JSONSchemaConverter.convert(schemaJSON: s); return nil } catch { return error }
        }
        XCTAssertEqual(err(##"{"$ref":"#/$defs/missing"}"##), .unresolvedReference("#/$defs/missing", path: ""))
        XCTAssertEqual(err(#"{"$ref":"https://example.com/x.json"}"#), .unresolvedReference("https://example.com/x.json", path: ""))
        if case .invalidPattern? = err(#"{"type":"string","pattern":"^(?=a)b$"}"#) {} else { XCTFail("lookahead must be rejected") }
        if case .invalidPattern? = err(#"{"type":"string","pattern":"(a)\\1"}"#) {} else { XCTFail("backreference must be rejected") }
        if case .invalidSchema? = err(#"{"type":"integer","minimum":5,"maximum":4}"#) {} else { XCTFail("empty range must be rejected") }
        if case .invalidSchema? = err(#"{"type":"string","minLength":5,"maxLength":4}"#) {} else { XCTFail() }
        if case .invalidSchema? = err("false") {} else { XCTFail() }
        if case .invalidJSON? = err(#"{"type":"#) {} else { XCTFail() }
        if case .invalidSchema? = err(#"{"type":"strng"}"#) {} else { XCTFail("unknown type must be rejected") }
        XCTAssertTrue(err(#"{"not":{}}"#)?.description.contains("'not'") ?? false)
    }

    func testRecursiveRefsAndNamesThatLookLikeHelpers() throws {
        let m = try matcher(##"{"$defs":{"node-1":{"type":"object","properties":{"next":{"$ref":"#/$defs/node-1"},"string":{"type":"string"}}}},"$ref":"#/$defs/node-1"}"##)
        XCTAssertTrue(m.matchesCompletely(#"{"next":{"next":{"string":"x"}}}"#))
    }
}
