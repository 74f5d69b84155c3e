import XCTest
@testable import Grammar
import JSON

/// Bounds on the total work grammars can cause: nested repetitions are refused by the parser,
/// ambiguity that gets past it is stopped by the matcher's work budget, and the schema converter
/// neither renders a quadratic grammar for many optional properties nor walks name chains
/// quadratically when many keys sanitize to one rule name.
final class GrammarBudgetTests: XCTestCase {
    func parseError(_ text: String) -> GrammarError? {
        do { _ = try Grammar.parse(text); return nil } catch { return error }
    }

    // MARK: parser: nested repetitions multiply

    func testNestedNullableRepetitionsAreRefusedAtParseTime() {
        // Each of these stalled the engine for seconds to minutes per token when admitted.
        for text in [#"root ::= (("a"{0,100}){0,100}){0,100}"#,
                     #"root ::= (("a"{0,1000}){0,1000}){0,1000}"#,
                     #"root ::= ("a"{0,1000}){0,1000}"#] {
            let err = parseError(text)
            XCTAssertEqual(err?.kind, .repetitionTooLarge, text)
            XCTAssertTrue(err?.message.contains("nested repetitions multiply") ?? false, "\(text): \(String(describing: err))")
        }
    }

    func testNestedRepetitionsWithinTheBudgetStillParse() throws {
        // 100 × 100 and a realistic IPv4-like pattern: well inside the budget.
        for text in [#"root ::= ("a"{0,100}){0,100}"#,
                     #"root ::= ([0-9]{1,3} "."){3} [0-9]{1,3}"#,
                     #"root ::= ("\"" [a-z]{0,50} "\"" ","?){0,100}"#] {
            XCTAssertNoThrow(try Grammar.parse(text), text)
        }
        // (Matching 100 × 100 would need more than maxStacks stacks, as it always did.)
        let m = GrammarMatcher(grammar: try Grammar.parse(#"root ::= ("a"{0,20}){0,20}"#))
        XCTAssertTrue(m.matchesCompletely(String(repeating: "a", count: 250)))
        XCTAssertFalse(m.matchesCompletely(String(repeating: "a", count: 401)))
    }

    func testFlatRepetitionsKeepTheirOldBudget() {
        // Unnested, the budget is the same count as before: 10,000 symbols are fine many times over.
        XCTAssertNoThrow(try Grammar.parse("root ::= " + Array(repeating: #""a"{0,10000}"#, count: 29).joined(separator: " ")))
        XCTAssertEqual(parseError("root ::= " + Array(repeating: #""a"{0,10000}"#, count: 31).joined(separator: " "))?.kind,
                       .repetitionTooLarge)
    }

    func testNestedRepetitionInAJSONSchemaPatternIsRefused() throws {
        let r = try JSONSchemaConverter.convert(schemaJSON: #"{"type":"string","pattern":"^((a{0,1000}){0,1000}){0,1000}$"}"#)
        do {
            _ = try Grammar.parse(r.gbnf)
            XCTFail("the converted pattern was admitted")
        } catch {
            XCTAssertEqual(error.kind, .repetitionTooLarge)
        }
    }

    // MARK: matcher: work budget

    /// Byte tokens plus runs of "a" (the hostile grammars' alphabet) up to 64 long.
    static func aRunVocabulary() -> TokenVocabulary {
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        for n in 2...64 { tokens.append([UInt8](repeating: 0x61, count: n)) }
        return TokenVocabulary(tokens: tokens, eosTokenIDs: [0])
    }

    /// The nesting goes through a rule reference, which the parser counts as one symbol, so the
    /// grammar is admitted; deciding a mask would take ~10⁶ stacks per character.
    static let ambiguousThroughReferences = "root ::= x{0,1000}\nx ::= \"a\"{0,1000}"

    func testAmbiguousGrammarPastTheParserIsStoppedByTheWorkBudget() throws {
        let m = GrammarMatcher(grammar: try Grammar.parse(Self.ambiguousThroughReferences))
        let vocab = Self.aRunVocabulary()
        XCTAssertThrowsError(try m.allowedTokenMask(vocabulary: vocab)) { error in
            XCTAssertEqual((error as? GrammarError)?.kind, .workLimitExceeded)
            XCTAssertTrue("\(error)".contains("too ambiguous"), "\(error)")
        }
        XCTAssertTrue(m.workLimitExceeded)
        // The interrupted work was bounded: at most the budget plus one frame's worth of nodes.
        XCTAssertLessThan(m.nodePos.count, m.maxWorkPerStep + 10_000)
        // Until reset, the matcher refuses everything rather than answer from half-built caches.
        XCTAssertFalse(m.accepts("a"))
        XCTAssertFalse(m.canEnd)
        XCTAssertFalse(m.accepts(token: 0, vocabulary: vocab), "end-of-sequence")
        XCTAssertThrowsError(try m.allowedTokenMask(vocabulary: vocab))
        m.reset()
        XCTAssertFalse(m.workLimitExceeded)
        XCTAssertTrue(m.canEnd)
    }

    func testTheBudgetAlsoStopsSingleTokenChecks() throws {
        let m = GrammarMatcher(grammar: try Grammar.parse(Self.ambiguousThroughReferences))
        m.maxWorkPerStep = 1_000
        XCTAssertFalse(m.accept(String(repeating: "a", count: 64)))
        XCTAssertTrue(m.workLimitExceeded)
        XCTAssertThrowsError(try m.filter(candidates: [0x61], vocabulary: Self.aRunVocabulary())) { error in
            XCTAssertEqual((error as? GrammarError)?.kind, .workLimitExceeded)
        }
    }

    func testWorkFromCachedSuccessorsCountsToo() throws {
        // Successor lists that are already cached need no expansion, but copying them is work:
        // with every step the mask takes warmed up, a zero budget must still be exceeded.
        let m = GrammarMatcher(grammar: try Grammar.parse(#"root ::= [a-c]{0,2}"#))
        for s in ["a", "b", "c", "aa", "ab", "ac", "ba", "bb", "bc", "ca", "cb", "cc"] { XCTAssertTrue(m.accepts(s)) }
        m.maxWorkPerStep = 0
        let vocab = TokenVocabulary(tokens: ["a", "b", "c", "x"].map { Array($0.utf8) }, eosTokenIDs: [])
        XCTAssertThrowsError(try m.allowedTokenMask(vocabulary: vocab)) { error in
            XCTAssertEqual((error as? GrammarError)?.kind, .workLimitExceeded)
        }
    }

    func testBudgetMatchesTheSameAnswersBelowIt() throws {
        // A generous budget changes nothing: same masks as an unbounded matcher would give.
        let g = try Grammar.parse(#"root ::= ("ab" | "a" "b"?){0,20} "c""#)
        let vocab = Self.aRunVocabulary()
        let bounded = GrammarMatcher(grammar: g)
        let unbounded = GrammarMatcher(grammar: g)
        unbounded.maxWorkPerStep = .max
        for text in ["", "ab", "aba", "abab"] {
            if !text.isEmpty { XCTAssertTrue(bounded.accept(text)); XCTAssertTrue(unbounded.accept(text)) }
            XCTAssertEqual(try bounded.allowedTokenMask(vocabulary: vocab), try unbounded.allowedTokenMask(vocabulary: vocab), text)
        }
    }

    func testJSONSchemaMasksStayFarBelowTheBudget() throws {
        let tokens = LargeVocabularyMaskTests.vocabulary(size: 32_768, seed: 99)
        let vocab = TokenVocabulary(tokens: tokens, eosTokenIDs: [2])
        let m = GrammarMatcher(grammar: try JSONSchemaConverter.grammar(schemaJSON: LargeVocabularyMaskTests.schema))
        var most = 0
        for b in Array(#"{"name":"get_time","arguments":{"city":"Oslo","notes":["a"]}}"#.utf8) {
            _ = try m.allowedTokenMask(vocabulary: vocab)
            most = max(most, m.work)
            XCTAssertTrue(m.accept(tokenBytes: [b]))
        }
        XCTAssertGreaterThan(most, 0)
        XCTAssertLessThan(most * 1000, m.maxWorkPerStep, "a normal grammar used \(most) of \(m.maxWorkPerStep)")
    }

    func testTooManyStacksIsStillARejectionNotAnError() throws {
        // Three levels through references: the start already has 100 × 100 stacks, and an "a"
        // would need more than maxStacks, so "a" is not allowed (as before) and nothing fails.
        let m = GrammarMatcher(grammar: try Grammar.parse("root ::= y{0,100}\ny ::= x{0,100}\nx ::= \"a\"{0,100}"))
        XCTAssertEqual(try m.allowedTokens(vocabulary: Self.aRunVocabulary()), [0])
        XCTAssertFalse(m.workLimitExceeded)
    }

    // MARK: converter: many optional properties

    static func optionalPropertiesSchema(_ n: Int) -> String {
        "{\"type\":\"object\",\"properties\":{" + (0..<n).map { "\"p\($0)\":{\"type\":\"string\"}" }.joined(separator: ",") + "}}"
    }

    func testManyOptionalPropertiesAreRefusedBeforeRendering() throws {
        let c = SchemaConverter(root: .bool(true), options: .init())
        let schema = try JSONValue.parse(Self.optionalPropertiesSchema(10_000))
        XCTAssertThrowsError(try c.visit(schema, name: "root", path: "")) { error in
            guard case .invalidSchema(let message, _)? = error as? SchemaConversionError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("10000 optional properties"), message)
        }
        // Only the per-property rules were written, not the ~50 million alternatives.
        XCTAssertLessThan(c.renderedBytes, 1 << 20)
        XCTAssertFalse(c.bodies.keys.contains { $0.contains("opt") })
    }

    func testHundredsOfOptionalPropertiesStillConvertAndParse() throws {
        let r = try JSONSchemaConverter.convert(schemaJSON: Self.optionalPropertiesSchema(500))
        let m = GrammarMatcher(grammar: try Grammar.parse(r.gbnf))
        XCTAssertTrue(m.matchesCompletely(#"{"p3": "x", "p499": "y"}"#))
        XCTAssertFalse(m.matchesCompletely(#"{"p499": "y", "p3": "x"}"#))
    }

    // MARK: converter: colliding rule names

    /// Distinct keys of `width` punctuation characters: all sanitize to the same rule name.
    static func collidingKeys(_ n: Int, width: Int) -> [String] {
        let punct = Array("!@#$%^&*()+=~;<>?|".unicodeScalars)
        return (0..<n).map { i in
            var k = "", v = i
            for _ in 0..<width { k.unicodeScalars.append(punct[v % punct.count]); v /= punct.count }
            return k
        }
    }

    func testCollidingRuleNamesGetTheSameNamesAsBefore() throws {
        let keys = Self.collidingKeys(3, width: 1)
        let props = keys.map { "\(JSONValue.quote($0)):{\"type\":\"integer\"}" }.joined(separator: ",")
        let schema = "{\"type\":\"object\",\"properties\":{\(props)},\"required\":[\(keys.map { JSONValue.quote($0) }.joined(separator: ","))]}"
        let gbnf = try JSONSchemaConverter.convert(schemaJSON: schema).gbnf
        // The names llama.cpp's scheme gives (base, base2x, base3x …), as the converter did before.
        XCTAssertEqual(gbnf.split(separator: "\n").first, #"root ::= "{" space root---kv "," space root---kv2x "," space root---kv3x "}" space"#)
        XCTAssertTrue(gbnf.contains(#"root---kv2x ::= "\"@\"" space ":" space integer"#), gbnf)
    }

    func testCollidingNamesReuseIdenticalRulesAndSkipTakenNames() throws {
        let c = SchemaConverter(root: .bool(true), options: .init())
        XCTAssertEqual(c.addRule("a!", "x"), "a-")
        XCTAssertEqual(c.addRule("a?", "y"), "a-2x")
        XCTAssertEqual(c.addRule("a-", "x"), "a-")       // same body: reused
        XCTAssertEqual(c.addRule("a-2x", "z"), "a-2x2x")  // its own chain starts at a taken name
        XCTAssertEqual(c.uniqueName("a."), "a-3x")
        XCTAssertEqual(c.addRule("a#", "y"), "a-2x")      // reused, not a-3x
        XCTAssertEqual(c.addRule("a#", "w"), "a-3x")
    }

    func testTenThousandCollidingKeysConvertQuickly() throws {
        let keys = Self.collidingKeys(10_000, width: 4)
        let props = keys.map { "\(JSONValue.quote($0)):{\"type\":\"integer\"}" }.joined(separator: ",")
        let schema = "{\"type\":\"object\",\"properties\":{\(props)},\"required\":[\(keys.map { JSONValue.quote($0) }.joined(separator: ","))]}"
        let gbnf = try JSONSchemaConverter.convert(schemaJSON: schema).gbnf
        XCTAssertTrue(gbnf.contains("root------kv10000x ::= "), "the 10,000th key gets the 10,000th name of the chain")
    }
}
