import XCTest
@testable import Grammar
import TestSupport

final class GrammarMatcherTests: XCTestCase {
    func matcher(_ gbnf: String) throws -> GrammarMatcher {
        GrammarMatcher(grammar: try Grammar.parse(gbnf))
    }

    func testCharByCharAcceptAndReject() throws {
        let m = try matcher(#"root ::= "ab" [0-9]+ "!""#)
        XCTAssertFalse(m.canEnd)
        XCTAssertFalse(m.accepts("b"))
        XCTAssertTrue(m.accept("a"))
        XCTAssertFalse(m.accepts("a"))
        XCTAssertTrue(m.accept("b"))
        XCTAssertFalse(m.accepts("!"))
        XCTAssertTrue(m.accept("7"))
        XCTAssertTrue(m.accept("3"))
        XCTAssertFalse(m.canEnd)
        XCTAssertFalse(m.accept("x"))      // rejected, state unchanged
        XCTAssertTrue(m.accept("!"))
        XCTAssertTrue(m.canEnd)
        XCTAssertFalse(m.accepts("!"))
    }

    func testAcceptsDoesNotCommit() throws {
        let m = try matcher(#"root ::= "abc""#)
        XCTAssertTrue(m.accepts("ab"))
        XCTAssertTrue(m.accepts("abc"))
        XCTAssertTrue(m.accepts("a"))
        XCTAssertTrue(m.accept("abc"))
        XCTAssertTrue(m.canEnd)
    }

    func testMultiCharTokens() throws {
        let m = try matcher(#"root ::= "{" ws "\"name\"" ws ":" ws "\"" [a-z]* "\"" ws "}"  ws ::= [ ]?"#)
        for tok in ["{", " \"", "name", "\":", " \"", "bob", "by", "\"", " }"] {
            XCTAssertTrue(m.accept(tok), tok)
        }
        XCTAssertTrue(m.canEnd)
        m.reset()
        XCTAssertFalse(m.canEnd)
        XCTAssertTrue(m.accept("{\"na"))
        XCTAssertFalse(m.accepts("mex"))
        XCTAssertFalse(m.accepts("me\":\"B"))
        XCTAssertTrue(m.accepts("me\":\"b\"}"))
    }

    func testTokenSplittingUTF8Character() throws {
        // "é" = C3 A9, "日" = E6 97 A5, "😀" = F0 9F 98 80
        let m = try matcher(#"root ::= "é" [\u65E5-\u65E6] "😀""#)
        XCTAssertTrue(m.accepts(tokenBytes: [0xC3]))
        XCTAssertFalse(m.accepts(tokenBytes: [0xC4]))        // would start U+0100..U+013F
        XCTAssertTrue(m.accept(tokenBytes: [0xC3]))
        XCTAssertFalse(m.canEnd)
        XCTAssertFalse(m.accepts(tokenBytes: [0xAA]))         // é is C3 A9, not C3 AA
        XCTAssertFalse(m.accepts(tokenBytes: [0x41]))         // ASCII inside a sequence
        XCTAssertTrue(m.accept(tokenBytes: [0xA9, 0xE6]))
        XCTAssertTrue(m.accepts(tokenBytes: [0x97]))
        XCTAssertFalse(m.accepts(tokenBytes: [0x98]))         // E6 98 xx is U+6600.., outside
        XCTAssertTrue(m.accept(tokenBytes: [0x97, 0xA5, 0xF0, 0x9F]))
        XCTAssertTrue(m.accept(tokenBytes: [0x98]))
        XCTAssertFalse(m.canEnd)                              // inside the emoji
        XCTAssertFalse(m.accepts(tokenBytes: [0x81]))
        XCTAssertTrue(m.accept(tokenBytes: [0x80]))
        XCTAssertTrue(m.canEnd)
    }

    func testInvalidUTF8Rejected() throws {
        let m = try matcher(#"root ::= .*"#)
        XCTAssertTrue(m.accepts("anything 日本"))
        XCTAssertFalse(m.accepts(tokenBytes: [0xFF]))
        XCTAssertFalse(m.accepts(tokenBytes: [0x80]))         // stray continuation
        XCTAssertFalse(m.accepts(tokenBytes: [0xC3, 0x41]))   // lead then ASCII
        XCTAssertFalse(m.accepts(tokenBytes: []))
    }

    func testMalformedUTF8FormsRejectedAtTheDecidingByte() throws {
        // A grammar accepting every code point, so only the encoding can be at fault.
        let m = try matcher(#"root ::= [\u0000-\U0010FFFF]*"#)
        XCTAssertTrue(m.accepts(tokenBytes: [0xF0, 0x9F, 0x98, 0x80]))  // 😀
        XCTAssertTrue(m.accepts(tokenBytes: [0xED, 0x9F, 0xBF]))        // U+D7FF, just below the surrogates
        XCTAssertTrue(m.accepts(tokenBytes: [0xF4, 0x8F, 0xBF, 0xBF]))  // U+10FFFF
        XCTAssertTrue(m.accepts(tokenBytes: [0xED]))                    // may still become U+D000..U+D7FF
        XCTAssertFalse(m.accepts(tokenBytes: [0xC0, 0x80]))             // overlong NUL
        XCTAssertFalse(m.accepts(tokenBytes: [0xE0, 0x81, 0xB4]))       // overlong "t"
        XCTAssertFalse(m.accepts(tokenBytes: [0xF0, 0x80, 0x81, 0xB4])) // overlong "t"
        XCTAssertFalse(m.accepts(tokenBytes: [0xF0, 0x80]))             // already overlong after two bytes
        XCTAssertFalse(m.accepts(tokenBytes: [0xE0, 0x9F]))
        XCTAssertFalse(m.accepts(tokenBytes: [0xED, 0xA0]))             // a surrogate whatever follows
        XCTAssertFalse(m.accepts(tokenBytes: [0xED, 0xBF, 0xBF]))       // U+DFFF
        XCTAssertFalse(m.accepts(tokenBytes: [0xF4, 0x90]))             // beyond U+10FFFF
        XCTAssertFalse(m.accepts(tokenBytes: [0xF5]))
        // The same judgement when the bytes arrive one token at a time.
        XCTAssertTrue(m.accept(tokenBytes: [0xF0]))
        XCTAssertFalse(m.accepts(tokenBytes: [0x80]))
        XCTAssertTrue(m.accept(tokenBytes: [0x90]))
        XCTAssertTrue(m.accept(tokenBytes: [0x80, 0x80]))               // U+10000, the smallest 4-byte form
        XCTAssertTrue(m.canEnd)
    }

    func testOverlongByteTokensAreNotAllowedInPlaceOfASCII() throws {
        // Byte-fallback vocabularies can spell "t" as F0 80 81 B4; the grammar must not take that for "true".
        let m = try matcher(#"root ::= "true""#)
        let tokens: [[UInt8]] = [[0xF0], [0x80], [0x81], [0xB4], Array("t".utf8), Array("true".utf8), [0xE0], [0xC1]]
        let vocab = TokenVocabulary(tokens: tokens)
        XCTAssertEqual(try m.allowedTokens(vocabulary: vocab), [4, 5])
        XCTAssertFalse(m.accept(token: 0, vocabulary: vocab))
        XCTAssertFalse(m.accept(tokenBytes: [0xF0, 0x80, 0x81, 0xB4]))
        XCTAssertTrue(m.accept(token: 4, vocabulary: vocab))
        XCTAssertFalse(m.accepts(tokenBytes: [0xE0, 0x81, 0xB2]))     // overlong "r"
    }

    func testNonASCIIShortcutAgreesWithPerTokenChecks() throws {
        // The vocabulary walk answers non-ASCII characters once per stack set when every stack
        // takes all of them or none; sets that split them must still be checked per code point.
        let tokens: [[UInt8]] = [
            Array("é".utf8), Array("日本".utf8), Array("a".utf8), Array("\"".utf8), Array("aé\"".utf8), [0xE6], [0xE6, 0x97],
            [0xC3], Array("😀".utf8), [0xF0, 0x9F], Array("ü".utf8), Array("xé".utf8), [0xED, 0xA0, 0x80], Array("\n".utf8),
        ]
        let vocab = TokenVocabulary(tokens: tokens)
        let grammars = [
            #"root ::= "\"" [^"\\\x00-\x1F]* "\"""#,       // all non-ASCII, one set looping on itself
            #"root ::= [a-z]*"#,                                 // no non-ASCII at all
            #"root ::= [a-zé]* "\"""#,                          // splits the non-ASCII range
            #"root ::= [^"]{0,3} "\"" | [a-x] "é""#,            // uniform, but the set moves with each character
            #"root ::= [\u0080-\uD7FF]* | [\uE000-\U0010FFFF]+"#, // excludes only surrogates: treated as split
        ]
        for g in grammars {
            let m = try matcher(g)
            for prefix in ["", "\"", "a", "\"é"] {
                m.reset()
                if !prefix.isEmpty && !m.accept(prefix) { continue }
                let mask = try m.allowedTokenMask(vocabulary: vocab)
                for id in 0..<Int32(tokens.count) {
                    XCTAssertEqual(mask[Int(id)], m.accepts(token: id, vocabulary: vocab), "\(g) after \(prefix.debugDescription): token \(id)")
                }
            }
        }
    }

    func testCharClassCovers() {
        let notQuote = CharClass(ranges: [0x22...0x22, 0x5C...0x5C], negated: true)
        XCTAssertTrue(notQuote.covers(0x80, 0x10FFFF))
        XCTAssertFalse(notQuote.covers(0x20, 0x7F))
        let letters = CharClass(ranges: [0x61...0x7A, 0xE9...0xE9])
        XCTAssertTrue(letters.covers(0x62, 0x70))
        XCTAssertFalse(letters.covers(0x80, 0x10FFFF))
        XCTAssertTrue(letters.intersects(0x80, 0x10FFFF))
        XCTAssertTrue(CharClass.any.covers(0, 0x10FFFF))
    }

    func testCanEndWithOptionalTail() throws {
        let m = try matcher(#"root ::= [a-z]+ ("." [a-z]+)?"#)
        XCTAssertTrue(m.accept("abc"))
        XCTAssertTrue(m.canEnd)
        XCTAssertTrue(m.accept("."))
        XCTAssertFalse(m.canEnd)
        XCTAssertTrue(m.accept("d"))
        XCTAssertTrue(m.canEnd)
        XCTAssertFalse(m.accepts("."))
    }

    func testRepetitionBounds() throws {
        let m = try matcher(#"root ::= "<" [x]{2,4} ">""#)
        XCTAssertTrue(m.accept("<x"))
        XCTAssertFalse(m.accepts(">"))
        XCTAssertTrue(m.accept("x"))
        XCTAssertTrue(m.accepts(">"))
        XCTAssertTrue(m.accept("xx"))
        XCTAssertFalse(m.accepts("x"))
        XCTAssertTrue(m.accept(">"))
        XCTAssertTrue(m.canEnd)
    }

    func testRecursionBalancedParens() throws {
        let m = try matcher(#"root ::= item*  item ::= "(" item* ")""#)
        let text = "(()(()))((()))"
        for ch in text { XCTAssertTrue(m.accept(String(ch)), "at \(ch)") }
        XCTAssertTrue(m.canEnd)
        XCTAssertFalse(m.accepts(")"))
        XCTAssertTrue(m.accept("(((("))
        XCTAssertFalse(m.canEnd)
        XCTAssertTrue(m.accept("))))"))
        XCTAssertTrue(m.canEnd)
    }

    func testDeepRecursionAndLongRepetition() throws {
        let m = try matcher(#"root ::= "[" (root ("," root)*)? "]""#)
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        XCTAssertTrue(m.matchesCompletely(deep))
        let m2 = try matcher(#"root ::= "a"*"#)
        for _ in 0..<10_000 { XCTAssertTrue(m2.accept("a")) }
        XCTAssertLessThan(m2.nodePos.count, 10, "right recursion must not grow the stack")
    }

    func testAmbiguousGrammarStaysBounded() throws {
        // Every 'a' can be matched by either alternative: naive stack sets
        // would double per character.
        let m = try matcher(#"root ::= (x | y)*  x ::= "a"  y ::= "a" | "aa""#)
        for _ in 0..<200 { XCTAssertTrue(m.accept("a")) }
        XCTAssertLessThan(m.stacks.count, 8)
        XCTAssertTrue(m.canEnd)
    }

    func testResetRestoresStart() throws {
        let m = try matcher(#"root ::= "yes" | "no""#)
        XCTAssertTrue(m.accept("ye"))
        XCTAssertFalse(m.accepts("no"))
        m.reset()
        XCTAssertTrue(m.accepts("no"))
    }

    func testTokenFilteringMatchesIndividualChecks() throws {
        let m = try matcher(#"root ::= "{" [ ]? "\"a\"" ":" [0-9]+ "}" | "日本" [a-c]*"#)
        let tokens: [[UInt8]] = [
            Array("{".utf8), Array("{ ".utf8), Array("{\"".utf8), Array(" ".utf8), Array("\"a\"".utf8),
            Array("日".utf8), [0xE6], [0xE6, 0x97], [0xE6, 0x98], Array("日本a".utf8), Array("x".utf8),
            [], Array("</s>".utf8), Array("{\"a\":1".utf8), Array("\"".utf8), Array("1".utf8), [0xFF],
            Array("日".utf8), // duplicate bytes under another id
        ]
        let eos: Int32 = 12
        let vocab = TokenVocabulary(tokens: tokens, eosTokenIDs: [eos])
        func check(_ context: String) throws {
            let mask = try m.allowedTokenMask(vocabulary: vocab)
            for id in 0..<Int32(tokens.count) {
                XCTAssertEqual(mask[Int(id)], m.accepts(token: id, vocabulary: vocab), "\(context) token \(id)")
            }
            XCTAssertEqual(try m.filter(candidates: Array(0..<Int32(tokens.count)), vocabulary: vocab),
                           (0..<Int32(tokens.count)).filter { mask[Int($0)] })
            XCTAssertEqual(try m.filter(candidates: [5, 0, 12], vocabulary: vocab),
                           [5, 0, 12].filter { mask[Int($0)] })
        }
        try check("start")
        let start = Set(try m.allowedTokens(vocabulary: vocab))
        XCTAssertEqual(start, [0, 1, 2, 5, 6, 7, 9, 13, 17])
        XCTAssertTrue(m.accept(token: 6, vocabulary: vocab))  // partial 日
        try check("mid-char")
        XCTAssertEqual(Set(try m.allowedTokens(vocabulary: vocab)), [])  // no token starts with a continuation byte here
        m.reset()
        XCTAssertTrue(m.accept(token: 9, vocabulary: vocab))
        try check("after 日本a")
        XCTAssertTrue(m.accepts(token: eos, vocabulary: vocab))
        m.reset()
        XCTAssertTrue(m.accept(token: 13, vocabulary: vocab))
        try check("in number")
        XCTAssertFalse(m.accepts(token: eos, vocabulary: vocab))
    }

    func testPartialTokensContinueAcrossFilter() throws {
        let m = try matcher(#"root ::= "日本""#)
        let tokens: [[UInt8]] = [[0xE6], [0x97, 0xA5], [0x97], [0xA5, 0xE6, 0x9C, 0xAC], [0xA6]]
        let vocab = TokenVocabulary(tokens: tokens)
        XCTAssertEqual(try m.allowedTokens(vocabulary: vocab), [0])
        XCTAssertTrue(m.accept(token: 0, vocabulary: vocab))
        XCTAssertEqual(try m.allowedTokens(vocabulary: vocab), [1, 2])
        XCTAssertTrue(m.accept(token: 2, vocabulary: vocab))
        XCTAssertEqual(try m.allowedTokens(vocabulary: vocab), [3])
        XCTAssertTrue(m.accept(token: 3, vocabulary: vocab))
        XCTAssertTrue(m.canEnd)
    }

    func testRandomizedFilterAgreesWithPerTokenCheck() throws {
        let g = try Grammar.parse("""
        root ::= "[" ws (val (ws "," ws val)*)? ws "]"
        val ::= [0-9]{1,3} | "\\"" [^"\\\\]* "\\"" | "é" | root
        ws ::= [ \\n]?
        """)
        var rng = SplitMix(seed: 7)
        let alphabet: [[UInt8]] = [Array("[".utf8), Array("]".utf8), Array(",".utf8), Array(" ".utf8), Array("\"".utf8),
                                    Array("1".utf8), Array("2".utf8), Array("a".utf8), [0xC3], [0xA9], Array("é".utf8), Array("\n".utf8)]
        var tokens: [[UInt8]] = []
        for _ in 0..<3000 {
            var t: [UInt8] = []
            for _ in 0..<(1 + Int(rng.next() % 4)) { t += alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            tokens.append(t)
        }
        let vocab = TokenVocabulary(tokens: tokens)
        let m = GrammarMatcher(grammar: g)
        for _ in 0..<25 {
            let mask = try m.allowedTokenMask(vocabulary: vocab)
            var allowed: [Int32] = []
            for id in 0..<Int32(tokens.count) {
                let single = m.accepts(token: id, vocabulary: vocab)
                XCTAssertEqual(mask[Int(id)], single)
                if single { allowed.append(id) }
            }
            guard !allowed.isEmpty else { break }
            XCTAssertTrue(m.accept(token: allowed[Int(rng.next() % UInt64(allowed.count))], vocabulary: vocab))
        }
    }
}

