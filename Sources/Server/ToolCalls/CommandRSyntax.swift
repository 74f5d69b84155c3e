/// Command R7B: text in `<|START_RESPONSE|>…<|END_RESPONSE|>` and calls as
/// `<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "f", "parameters": {…}}]<|END_ACTION|>`.
/// (Thoughts in `<|START_THINKING|>…<|END_THINKING|>` are split off before this runs.)
struct CommandRSyntax: ToolCallSyntax {
    static let actionStart = "<|START_ACTION|>", actionEnd = "<|END_ACTION|>"
    static let responseStart = "<|START_RESPONSE|>", responseEnd = "<|END_RESPONSE|>"

    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        var out = ParsedMessage()
        let markers = [Self.actionStart, Self.responseStart, Self.responseEnd]
        do throws(OutputParseStop) {
            while true {
                try c.readText(until: markers, into: &out.content)
                if c.atEnd { break }
                if try c.skip(Self.responseStart) { continue }
                if try c.skip(Self.responseEnd) { continue }
                try c.expect(Self.actionStart)
                c.skipSpace()
                try c.readCallArray(into: &out.toolCalls, nameKeys: ["tool_name"], argumentKeys: ["parameters"],
                                    idKeys: ["tool_call_id"])
                c.skipSpace()
                try c.expect(Self.actionEnd)
            }
        } catch .needMore { return out } catch { return nil }
        return out
    }
}
