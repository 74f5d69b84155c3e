/// Functionary v3.2: the reply is a list of `>>>recipient\n…` segments; `all` carries text for
/// the user, any other recipient is a function name followed by its JSON arguments (the
/// generation prompt already ends with the first `>>>`, so the reply may start at the name).
/// The `python` tool may take raw code instead of JSON, returned as `{"code": …}`.
struct FunctionaryV3Syntax: ToolCallSyntax {
    static let prefix = ">>>"

    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        var out = ParsedMessage()
        do throws(OutputParseStop) {
            _ = try c.skip(Self.prefix)
            while !c.atEnd {
                let recipient = try c.readName(until: UInt8(ascii: "\n"))
                guard Self.isRecipient(recipient) else { throw .invalid }
                if recipient == "all" {
                    try c.readText(until: ["\n" + Self.prefix, Self.prefix], into: &out.content)
                } else if recipient == "python", !c.atEnd, c.bytes[c.at] != UInt8(ascii: "{") {
                    var code = ""
                    try c.readText(until: ["\n" + Self.prefix, Self.prefix], into: &code)
                    out.toolCalls.append(Llama3Syntax.builtinCall(code.trimmingSpaces))
                } else {
                    c.skipSpace()
                    try c.readArguments(of: recipient, into: &out.toolCalls)
                }
                c.skipSpace()
                if c.atEnd { break }
                try c.expect(Self.prefix)
            }
        } catch .needMore { return out } catch { return nil }
        return out
    }

    /// llama-server reads a recipient as a word (`\w+`: ASCII letters, digits, `_`). A reply whose
    /// first line is anything else (`{`, a sentence) is not a segment header, so it is text and no
    /// call is ever announced for it while streaming.
    static func isRecipient(_ name: String) -> Bool {
        name.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "_")
        }
    }
}
