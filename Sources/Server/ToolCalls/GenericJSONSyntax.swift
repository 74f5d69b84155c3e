import JSON

/// llama-server's format for templates with no tool-call syntax of their own: the whole reply is
/// one JSON object, `{"tool_calls": [{"name": …, "arguments": {…}}, …]}`, `{"tool_call": {…}}`
/// (when parallel calls are off) or `{"response": "text"}`. Anything else is plain content.
struct GenericJSONSyntax: ToolCallSyntax {
    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        c.skipSpace()
        if c.atEnd { return partial ? ParsedMessage() : ParsedMessage(content: text) }
        guard c.bytes[c.at] == UInt8(ascii: "{"), let scan = JSONSpan.scanObject(c.bytes, from: c.at) else {
            return ParsedMessage(content: text)
        }
        var out = ParsedMessage()
        let known: Set = ["tool_calls", "tool_call", "response"]
        guard scan.members.allSatisfy({ known.contains($0.key) }) else { return scan.end == nil && partial ? nil : ParsedMessage(content: text) }
        guard let first = scan.members.first else { return partial && scan.end == nil ? out : ParsedMessage(content: text) }
        var inner = c
        inner.at = first.valueStart
        do throws(OutputParseStop) {
            switch first.key {
            case "tool_calls": try inner.readCallArray(into: &out.toolCalls)
            case "tool_call": try inner.readCallObject(into: &out.toolCalls)
            default:
                if let end = first.valueEnd {
                    guard case .string(let s)? = try? JSONValue.parse(utf8: Array(c.bytes[first.valueStart..<end])) else { return nil }
                    out.content = s
                } else {
                    out.content = Self.partialString(c.text(first.valueStart..<c.bytes.count))
                }
            }
        } catch .needMore { return out } catch { return nil }
        if scan.end == nil && !partial { return nil }
        return out
    }

    /// The text of a JSON string literal cut off by the end of the output, up to its last
    /// complete character (an escape sequence cut in half is left out).
    static func partialString(_ raw: String) -> String {
        var raw = Substring(raw)
        for _ in 0..<7 {
            if case .string(let s)? = try? JSONValue.parse(String(raw) + "\"") { return s }
            if raw.isEmpty { break }
            raw.removeLast()
        }
        return ""
    }
}
