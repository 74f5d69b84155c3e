import XCTest
@testable import Grammar

/// Full-match helper: parse `gbnf`, then check `text` is a complete sentence.
func fullMatch(_ gbnf: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
    do {
        let g = try Grammar.parse(gbnf)
        return GrammarMatcher(grammar: g).matchesCompletely(text)
    } catch {
        XCTFail("grammar failed to parse: \(error)", file: file, line: line)
        return false
    }
}

final class GBNFParserTests: XCTestCase {
    func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> GrammarError? {
        do {
            _ = try Grammar.parse(text)
            XCTFail("expected a parse error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testLiteralAndAlternation() {
        let g = #"root ::= "cat" | "dog""#
        XCTAssertTrue(fullMatch(g, "cat"))
        XCTAssertTrue(fullMatch(g, "dog"))
        XCTAssertFalse(fullMatch(g, "ca"))
        XCTAssertFalse(fullMatch(g, "cow"))
        XCTAssertFalse(fullMatch(g, "catdog"))
    }

    func testRuleReferencesAndGroups() {
        let g = """
        root ::= greeting ", " ("world" | "there") "!"
        greeting ::= "hello" | "hi"
        """
        XCTAssertTrue(fullMatch(g, "hello, world!"))
        XCTAssertTrue(fullMatch(g, "hi, there!"))
        XCTAssertFalse(fullMatch(g, "hi, world"))
        XCTAssertFalse(fullMatch(g, "hey, world!"))
    }

    func testStarPlusOptional() {
        XCTAssertTrue(fullMatch(#"root ::= "a"*"#, ""))
        XCTAssertTrue(fullMatch(#"root ::= "a"*"#, "aaaa"))
        XCTAssertFalse(fullMatch(#"root ::= "a"+"#, ""))
        XCTAssertTrue(fullMatch(#"root ::= "a"+"#, "aaa"))
        XCTAssertTrue(fullMatch(#"root ::= "x" "a"? "y""#, "xy"))
        XCTAssertTrue(fullMatch(#"root ::= "x" "a"? "y""#, "xay"))
        XCTAssertFalse(fullMatch(#"root ::= "x" "a"? "y""#, "xaay"))
        // Repetition applies to the whole preceding literal, not its last char.
        XCTAssertTrue(fullMatch(#"root ::= "ab"*"#, "ababab"))
        XCTAssertFalse(fullMatch(#"root ::= "ab"*"#, "abb"))
        // And to a group.
        XCTAssertTrue(fullMatch(#"root ::= ("a" | "b")+ "c""#, "abbac"))
    }

    func testBoundedRepetitions() {
        let exact = #"root ::= [0-9]{3}"#
        XCTAssertTrue(fullMatch(exact, "123"))
        XCTAssertFalse(fullMatch(exact, "12"))
        XCTAssertFalse(fullMatch(exact, "1234"))
        let atLeast = #"root ::= "a"{2,}"#
        XCTAssertFalse(fullMatch(atLeast, "a"))
        XCTAssertTrue(fullMatch(atLeast, "aa"))
        XCTAssertTrue(fullMatch(atLeast, String(repeating: "a", count: 50)))
        let range = #"root ::= "x" ( "ab" ){1,3} "y""#
        XCTAssertFalse(fullMatch(range, "xy"))
        XCTAssertTrue(fullMatch(range, "xaby"))
        XCTAssertTrue(fullMatch(range, "xababy"))
        XCTAssertTrue(fullMatch(range, "xabababy"))
        XCTAssertFalse(fullMatch(range, "xababababy"))
        let zero = #"root ::= "a"{0,2} "b""#
        XCTAssertTrue(fullMatch(zero, "b"))
        XCTAssertTrue(fullMatch(zero, "aab"))
        XCTAssertFalse(fullMatch(zero, "aaab"))
        XCTAssertTrue(fullMatch(#"root ::= "a"{ 2 , 3 }"#, "aaa"))
    }

    func testEscapesInLiterals() {
        XCTAssertTrue(fullMatch(#"root ::= "a\nb\tc\rd""#, "a\nb\tc\rd"))
        XCTAssertTrue(fullMatch(#"root ::= "q\"q\\""#, "q\"q\\"))
        XCTAssertTrue(fullMatch(#"root ::= "\x41\u00e9\U0001F600""#, "Aé😀"))
        XCTAssertTrue(fullMatch(#"root ::= "é日本""#, "é日本"))
    }

    func testCharacterClasses() {
        let g = #"root ::= [a-cx-z_] [^0-9\n] [\]\-\\]"#
        XCTAssertTrue(fullMatch(g, "a!]"))
        XCTAssertTrue(fullMatch(g, "z日-"))
        XCTAssertTrue(fullMatch(g, "_q\\"))
        XCTAssertFalse(fullMatch(g, "d!]"))
        XCTAssertFalse(fullMatch(g, "a5]"))
        XCTAssertFalse(fullMatch(g, "a\n]"))
        XCTAssertFalse(fullMatch(g, "a!x"))
        // Trailing '-' is literal; unicode ranges.
        XCTAssertTrue(fullMatch(#"root ::= [a-]+"#, "a-a"))
        XCTAssertTrue(fullMatch(#"root ::= [\u0400-\u04FF]+"#, "привет"))
        XCTAssertFalse(fullMatch(#"root ::= [\u0400-\u04FF]+"#, "hello"))
    }

    func testAnyCharAndComments() {
        let g = """
        # a comment line
        root ::= "<" . . ">"   # trailing comment
        # another
        """
        XCTAssertTrue(fullMatch(g, "<ab>"))
        XCTAssertTrue(fullMatch(g, "<日😀>"))
        XCTAssertFalse(fullMatch(g, "<a>"))
    }

    func testMultilineBodiesAndEmptyAlternatives() {
        let g = """
        root ::=
            item
            ("," item)*
          | "none"
        item ::= [a-z]+ |
        """
        XCTAssertTrue(fullMatch(g, "a,bc,"))
        XCTAssertTrue(fullMatch(g, "none"))
        XCTAssertTrue(fullMatch(g, ""))
        XCTAssertFalse(fullMatch(g, "A"))
    }

    func testGrammarDescriptionRoundTrips() throws {
        let g = try Grammar.parse("root ::= (\"a\" [^b-d] .)? x{2}\nx ::= \"\\n\"")
        let reparsed = try Grammar.parse(g.description)
        XCTAssertTrue(GrammarMatcher(grammar: reparsed).matchesCompletely("aqz\n\n"))
        XCTAssertFalse(GrammarMatcher(grammar: reparsed).matchesCompletely("abz\n\n"))
    }

    // MARK: errors

    func testMissingRoot() {
        let e = parseError(#"start ::= "a""#)
        XCTAssertEqual(e?.kind, .missingRoot)
        XCTAssertEqual(parseError("   # only a comment\n")?.kind, .missingRoot)
    }

    func testUndefinedRuleHasPosition() {
        let e = parseError("root ::= \"a\" thing\n")
        XCTAssertEqual(e?.kind, .undefinedRule("thing"))
        XCTAssertEqual(e?.line, 1)
        XCTAssertEqual(e?.column, 14)
        XCTAssertTrue(e?.description.contains("undefined rule 'thing'") ?? false)
    }

    func testDuplicateRule() {
        let e = parseError("root ::= a\na ::= \"x\"\na ::= \"y\"\n")
        XCTAssertEqual(e?.kind, .duplicateRule("a"))
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.column, 1)
    }

    func testLeftRecursionIsAnError() {
        XCTAssertEqual(parseError(#"root ::= root "a" | "b""#)?.kind, .leftRecursion("root"))
        XCTAssertEqual(parseError("root ::= a\na ::= b \"x\"\nb ::= a | \"y\"")?.kind, .leftRecursion("a"))
        // Through a nullable prefix.
        XCTAssertNotNil(parseError("root ::= e root \"x\" | \"y\"\ne ::= \"z\" |"))
        // Repeating something that can be empty would loop forever.
        XCTAssertNotNil(parseError(#"root ::= ("a"?)*"#))
        // Right recursion is fine.
        XCTAssertTrue(fullMatch(#"root ::= "a" root | "b""#, "aaab"))
    }

    func testMissingDefinitionOperator() {
        let e = parseError("root ::= \"a\"\nfoo = \"b\"")
        XCTAssertEqual(e?.kind, .syntax)
        XCTAssertEqual(e?.line, 2)
        XCTAssertEqual(e?.column, 5)
        XCTAssertTrue(e?.message.contains("'::='") ?? false, e?.message ?? "")
    }

    func testExpectedRuleName() {
        let e = parseError("  ::= \"a\"")
        XCTAssertEqual(e?.line, 1)
        XCTAssertEqual(e?.column, 3)
        XCTAssertTrue(e?.message.contains("expected rule name") ?? false)
    }

    func testUnterminatedString() {
        let e = parseError("root ::= \"abc\nx ::= \"y\"")
        XCTAssertEqual(e?.line, 1)
        XCTAssertEqual(e?.column, 10)
        XCTAssertTrue(e?.message.contains("unterminated string") ?? false)
        XCTAssertNotNil(parseError("root ::= \"abc"))
    }

    func testUnterminatedClass() {
        let e = parseError("root ::=\n  [a-z")
        XCTAssertEqual(e?.line, 2)
        XCTAssertEqual(e?.column, 3)
        XCTAssertTrue(e?.message.contains("unterminated character class") ?? false)
    }

    func testReversedRange() {
        let e = parseError("root ::= [z-a]")
        XCTAssertEqual(e?.column, 12)
        XCTAssertTrue(e?.message.contains("invalid range") ?? false)
    }

    func testBadEscapes() {
        let e = parseError(#"root ::= "a\qb""#)
        XCTAssertEqual(e?.column, 12)
        XCTAssertTrue(e?.message.contains("unknown escape") ?? false, e?.message ?? "")
        let h = parseError(#"root ::= "\x4""#)
        XCTAssertTrue(h?.message.contains("hex digits") ?? false, h?.message ?? "")
        XCTAssertNotNil(parseError(#"root ::= "\U00110000""#))
    }

    func testUnclosedGroup() {
        let e = parseError("root ::= (\"a\" | \"b\"")
        XCTAssertTrue(e?.message.contains("expected ')'") ?? false, e?.message ?? "")
        let f = parseError("root ::= (\"a\" ]")
        XCTAssertEqual(f?.column, 15)
        XCTAssertTrue(f?.message.contains("unexpected ']'") ?? false, f?.message ?? "")
    }

    func testUnmatchedCloseParen() {
        let e = parseError("root ::= \"a\" )")
        XCTAssertEqual(e?.column, 14)
    }

    func testRepetitionErrors() {
        let noElement = parseError("root ::= * \"a\"")
        XCTAssertEqual(noElement?.column, 10)
        XCTAssertTrue(noElement?.message.contains("expected an element") ?? false)
        let noNumber = parseError("root ::= \"a\"{x}")
        XCTAssertTrue(noNumber?.message.contains("expected a number") ?? false)
        XCTAssertEqual(noNumber?.column, 14)
        let noClose = parseError("root ::= \"a\"{2,3")
        XCTAssertTrue(noClose?.message.contains("expected '}'") ?? false)
        let reversed = parseError("root ::= \"a\"{3,2}")
        XCTAssertTrue(reversed?.message.contains("less than minimum") ?? false)
        XCTAssertEqual(reversed?.column, 13)
        XCTAssertEqual(parseError("root ::= \"a\"{20000}")?.kind, .repetitionTooLarge)
        XCTAssertNotNil(parseError("root ::= \"a\"{1}{2}*"))
    }

    func testUnexpectedCharacter() {
        let e = parseError("root ::= \"a\" @")
        XCTAssertEqual(e?.column, 14)
        XCTAssertTrue(e?.message.contains("'@'") ?? false)
        XCTAssertEqual(e?.description, "line 1, column 14: " + (e?.message ?? ""))
    }

    func testColumnCountsUnicodeScalars() {
        let e = parseError("root ::= \"日本\" @")
        XCTAssertEqual(e?.column, 15)
    }
}
