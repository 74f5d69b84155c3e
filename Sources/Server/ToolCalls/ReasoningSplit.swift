/// Splits thoughts (`<think>…</think>` and the like) off the start of a reply.
struct ReasoningSplit: Sendable {
    var open: String
    var close: String
    /// The generation prompt already opened the block (DeepSeek R1, QwQ end with `<think>`).
    var startsInside: Bool

    /// Markers from a template's source, or nil when it has no thinking block.
    init?(templateSource: String, prompt: String) {
        guard let (open, close) = ReasoningMode.thinkingMarkers.first(where: { templateSource.contains($0.0) }) else { return nil }
        self.open = open
        self.close = close
        let trimmed = String(prompt.reversed().drop(while: \.isWhitespace).reversed())
        startsInside = trimmed.hasSuffix(open)
    }

    /// (thoughts, the reply after them). While streaming (`partial`), text that may still be
    /// a marker is held back.
    func split(_ text: String, partial: Bool) -> (reasoning: String, rest: String) {
        var c = OutputCursor(text, partial: partial)
        c.skipSpace()
        var inside = startsInside
        do {
            if !inside { inside = try c.skip(open) }
        } catch {
            return ("", "")  // the reply so far may still be an opening marker
        }
        guard inside else { return ("", text) }
        var reasoning = ""
        do {
            try c.readText(until: [close], into: &reasoning)
        } catch {
            return (reasoning.trimmingSpaces, "")
        }
        if c.atEnd { return (reasoning.trimmingSpaces, "") }
        c.at += close.utf8.count
        c.skipSpace()
        return (reasoning.trimmingSpaces, c.rest)
    }
}
