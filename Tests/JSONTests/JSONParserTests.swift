import Testing
@testable import JSON

/// The parser: RFC 8259 exactly, order and number text kept, errors with the byte offset.
@Suite struct JSONParserTests {
    func parseError(_ text: String) -> JSONParseError? {
        do { _ = try JSONValue.parse(text); return nil } catch { return error }
    }

    @Test func objectsKeepWrittenOrderAndRepeatedKeys() throws {
        let v = try JSONValue.parse(#"{"z": 1, "a": {"y": [], "b": {}}, "z": 2}"#)
        #expect(v.objectMembers?.map(\.key) == ["z", "a", "z"])
        #expect(v["a"]?.objectMembers?.map(\.key) == ["y", "b"])
        // Lookup by key finds the first member.
        #expect(v["z"] == 1)
        #expect(v["missing"] == nil)
        #expect(JSONValue.array([])["z"] == nil)
    }

    @Test func numbersKeepTheirText() throws {
        let text = #"[0,-0,1.50,-3e2,1E+2,2.5e-07,12345678901234567890,1e400]"#
        let v = try JSONValue.parse(text)
        #expect(v.serialized() == text)
        guard case .number(let n)? = v.arrayValue?[2] else { Issue.record("not a number"); return }
        #expect(n.text == "1.50")
    }

    @Test func scalarsAndWhitespace() throws {
        #expect(try JSONValue.parse(" \t\r\n null \n") == .null)
        #expect(try JSONValue.parse("true") == true)
        #expect(try JSONValue.parse("false") == false)
        #expect(try JSONValue.parse(#""x""#) == "x")
        #expect(try JSONValue.parse("[ 1 , [ ] , { } ]") == [1, [], [:]])
    }

    @Test func stringEscapes() throws {
        #expect(try JSONValue.parse(#""a\"b\\c\/d\b\f\n\r\t""#) == "a\"b\\c/d\u{08}\u{0C}\n\r\t")
        #expect(try JSONValue.parse(#""\u00e9\u00E9\u0000""#) == "éé\u{00}")
        // A surrogate pair is one character outside the BMP.
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == "😀")
        #expect(try JSONValue.parse(#""\uD83D\uDE00""#) == "😀")
        // Raw UTF-8 passes through untouched.
        #expect(try JSONValue.parse("\"é😀\u{7F}\"") == "é😀\u{7F}")
    }

    @Test func loneSurrogatesAreErrors() {
        #expect(parseError(#""\ud800""#)?.message == "lone surrogate in string")
        #expect(parseError(#""\udc00x""#)?.message == "lone surrogate in string")
        #expect(parseError(#""\ud800\u0041""#)?.message == "invalid surrogate pair")
        #expect(parseError(#""\ud800x""#)?.message == "lone surrogate in string")
    }

    @Test(arguments: [
        ("", 0, "unexpected end of input"),
        ("[1,]", 3, "invalid value"),
        ("[1 2]", 3, "expected ',' or ']'"),
        ("[1", 2, "unterminated array"),
        (#"{"a" 1}"#, 5, "expected ':'"),
        (#"{1: 2}"#, 1, "expected a string key"),
        (#"{"a": 1"#, 7, "unterminated object"),
        (#"{"a": 1 "b"}"#, 8, "expected ',' or '}'"),
        ("01", 1, "unexpected trailing characters"),
        ("1.", 2, "expected digits after '.'"),
        ("1e", 2, "expected exponent digits"),
        ("-", 1, "invalid value"),
        ("+1", 0, "invalid value"),
        ("NaN", 0, "invalid value"),
        ("tru", 0, "invalid literal"),
        ("nul", 0, "invalid literal"),
        ("\"a\nb\"", 2, "control character in string"),
        (#""abc"#, 4, "unterminated string"),
        (#""\x""#, 3, "invalid escape"),
        (#""\u12g4""#, 5, #"invalid \u escape"#),
        (#""\u12"#, 3, #"truncated \u escape"#),
        ("[] []", 3, "unexpected trailing characters"),
    ])
    func invalidInputIsAnErrorAtItsOffset(text: String, offset: Int, message: String) {
        let e = parseError(text)
        #expect(e == JSONParseError(offset: offset, message: message), "\(text.debugDescription)")
        #expect(e?.description == "invalid JSON at offset \(offset): \(message)")
    }

    @Test func nestingIsLimited() {
        let d = JSONValue.maxNestingDepth
        #expect(d == 512)
        #expect((try? JSONValue.parse(String(repeating: "[", count: d) + String(repeating: "]", count: d))) != nil)
        let deep = String(repeating: "[", count: d + 1) + String(repeating: "]", count: d + 1)
        #expect(parseError(deep)?.message == "nesting too deep (more than 512 levels)")
        let deepObject = String(repeating: #"{"a":"#, count: d + 1) + "1" + String(repeating: "}", count: d + 1)
        #expect(parseError(deepObject)?.message == "nesting too deep (more than 512 levels)")
    }

    @Test func utf8BytesAreValidated() throws {
        #expect(try JSONValue.parse(utf8: Array(#"["é😀"]"#.utf8)) == ["é😀"])
        // 0xFF never occurs in UTF-8; a lone continuation byte and a truncated sequence neither.
        for (bytes, offset) in [([0x22, 0x61, 0xFF, 0x22], 2), ([0x22, 0x80, 0x22], 1), ([0x5B, 0x22, 0xC3], 2)] as [([UInt8], Int)] {
            #expect(throws: JSONParseError(offset: offset, message: "invalid UTF-8")) { try JSONValue.parse(utf8: bytes) }
        }
    }
}
