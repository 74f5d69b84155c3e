/// DeepSeek R1 (and its distills): after optional text,
/// `<｜tool▁calls▁begin｜>` then per call
/// `<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{…}\n```<｜tool▁call▁end｜>`,
/// then `<｜tool▁calls▁end｜>`. (Thoughts in `<think>` are split off before this runs.)
struct DeepSeekR1Syntax: ToolCallSyntax {
    static let callsBegin = "<｜tool▁calls▁begin｜>", callsEnd = "<｜tool▁calls▁end｜>"
    static let callBegin = "<｜tool▁call▁begin｜>", callEnd = "<｜tool▁call▁end｜>", separator = "<｜tool▁sep｜>"

    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        var out = ParsedMessage()
        do throws(OutputParseStop) {
            // Some distills skip the section marker and open the first call directly.
            try c.readText(until: [Self.callsBegin, Self.callBegin], into: &out.content)
            guard !c.atEnd else { return out }
            _ = try c.skip(Self.callsBegin)
            while true {
                c.skipSpace()
                if c.atEnd { if partial { return out } else { break } }
                if try c.skip(Self.callsEnd) { break }
                try c.expect(Self.callBegin)
                _ = try c.skip("function")
                try c.expect(Self.separator)
                let name = try c.readName(until: UInt8(ascii: "\n"))
                try c.expect("```json")
                c.skipSpace()
                try c.readArguments(of: name, into: &out.toolCalls)
                c.skipSpace()
                try c.expect("```")
                c.skipSpace()
                try c.expect(Self.callEnd)
            }
            c.skipSpace()
            try c.readText(until: [], into: &out.content)
        } catch .needMore { return out } catch { return nil }
        return out
    }
}
