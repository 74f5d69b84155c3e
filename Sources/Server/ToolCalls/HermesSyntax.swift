/// Hermes 2 Pro, Qwen 2.5 and Qwen 3: each call is a JSON object between tags,
/// `<tool_call>\n{"name": "f", "arguments": {…}}\n</tool_call>`, after optional text.
struct HermesSyntax: ToolCallSyntax {
    static let open = "<tool_call>", close = "</tool_call>"

    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        var out = ParsedMessage()
        do throws(OutputParseStop) {
            while true {
                try c.readText(until: [Self.open], into: &out.content)
                if c.atEnd { break }
                try c.expect(Self.open)
                c.skipSpace()
                try c.readCallObject(into: &out.toolCalls)
                c.skipSpace()
                try c.expect(Self.close)
                c.skipSpace()
            }
        } catch .needMore { return out } catch { return nil }
        return out
    }
}
