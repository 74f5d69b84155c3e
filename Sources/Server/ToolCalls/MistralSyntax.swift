/// Mistral Nemo and later: `[TOOL_CALLS]` then a JSON array of
/// `{"name": "f", "arguments": {…}, "id": "abcdef123"}` objects, after optional text.
struct MistralSyntax: ToolCallSyntax {
    static let marker = "[TOOL_CALLS]"

    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        var out = ParsedMessage()
        do throws(OutputParseStop) {
            try c.readText(until: [Self.marker], into: &out.content)
            guard !c.atEnd else { return out }
            try c.expect(Self.marker)
            c.skipSpace()
            try c.readCallArray(into: &out.toolCalls)
            c.skipSpace()
            guard c.atEnd else { return nil }
        } catch .needMore { return out } catch { return nil }
        return out
    }
}

extension OutputCursor {
    /// `[call, call, …]` of JSON call objects.
    mutating func readCallArray(into calls: inout [ParsedToolCall], nameKeys: [String] = ["name"],
                                argumentKeys: [String] = ["arguments", "parameters"],
                                idKeys: [String] = ["id"]) throws(OutputParseStop) {
        try expect("[")
        c: while true {
            skipSpace()
            if atEnd { throw partial ? .needMore : .invalid }
            if try skip("]") { return }
            try readCallObject(into: &calls, nameKeys: nameKeys, argumentKeys: argumentKeys, idKeys: idKeys)
            skipSpace()
            if atEnd { throw partial ? .needMore : .invalid }
            if try skip(",") { continue c }
            try expect("]")
            return
        }
    }
}
