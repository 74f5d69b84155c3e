import Testing
@testable import JSON

/// Serialization and the one string escaper.
@Suite struct JSONWriterTests {
    static let document = #"{"b":[1,2.50,{"x":null,"é":true}],"a":{},"B":[],"s":"q\"\n"}"#

    @Test func compactRoundTripIsByteExact() throws {
        let v = try JSONValue.parse(Self.document)
        #expect(v.serialized() == Self.document)
        #expect(v.description == Self.document)
        #expect(try JSONValue.parse(v.serialized(.python(indent: "  "))) == v)
    }

    @Test func pythonSeparatorsOnOneLine() throws {
        let v = try JSONValue.parse(Self.document)
        #expect(v.serialized(.python()) == #"{"b": [1, 2.50, {"x": null, "é": true}], "a": {}, "B": [], "s": "q\"\n"}"#)
    }

    @Test func pythonIndentation() throws {
        let v = try JSONValue.parse(#"{"a":[1,{"b":2}],"c":[],"d":{}}"#)
        #expect(v.serialized(.python(indent: "  ")) == """
            {
              "a": [
                1,
                {
                  "b": 2
                }
              ],
              "c": [],
              "d": {}
            }
            """)
        // json.dumps(indent=0): newlines, no indentation.
        #expect(try JSONValue.parse("[1,2]").serialized(.python(indent: "")) == "[\n1,\n2\n]")
    }

    @Test func sortedKeysUseCodePointOrder() throws {
        let v = try JSONValue.parse(#"{"é":1,"a":{"z":1,"y":2},"B":2,"_":3}"#)
        #expect(v.serialized(JSONFormat(sortKeys: true)) == #"{"B":2,"_":3,"a":{"y":2,"z":1},"é":1}"#)
    }

    @Test func builtValuesSerialize() {
        let v: JSONValue = ["n": 1, "f": 0.5, "s": "x", "l": [true, nil], "o": ["k": .double(.infinity)]]
        #expect(v.serialized() == #"{"n":1,"f":0.5,"s":"x","l":[true,null],"o":{"k":Infinity}}"#)
    }

    @Test func escaperEscapesOnlyWhatJSONRequires() {
        #expect(JSONValue.quote("") == #""""#)
        #expect(JSONValue.quote("plain text é 😀 \u{7F}") == "\"plain text é 😀 \u{7F}\"")
        #expect(JSONValue.quote("a\"b\\c/d") == #""a\"b\\c/d""#)
        #expect(JSONValue.quote("\n\r\t\u{08}\u{0C}") == #""\n\r\t\b\f""#)
        #expect(JSONValue.quote("\u{00}\u{01}\u{1F}\u{0B}") == #""\u0000\u0001\u001f\u000b""#)
        #expect(JSONValue.quote("x\u{1B}[0m😀") == #""x\u001b[0m😀""#)
        var out = "prefix:"
        JSONValue.appendQuoted("v", to: &out)
        #expect(out == #"prefix:"v""#)
    }

    @Test func everyEscapedStringParsesBack() throws {
        var all = ""
        for v in 0..<0x80 { all.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        all += "é\u{2028}\u{FFFF}😀\u{10FFFF}"
        #expect(try JSONValue.parse(JSONValue.quote(all)) == .string(all))
    }
}
