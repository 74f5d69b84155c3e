/// gpt-oss's Harmony format, read as llama.cpp's GPT-OSS parser reads it. The generation prompt
/// ends with `<|start|>assistant`, so a reply is one or more messages, each a header and a body:
///
/// - `<|channel|>analysis<|message|>…<|end|>`: thoughts (`reasoning_content`; several blocks are
///   joined). Without reasoning extraction (`reasoning_format: none`) the block, markers
///   included, is content instead.
/// - `<|channel|>commentary<|message|>…<|end|>`: a preamble, content.
/// - `<|channel|>final<|message|>…`: the answer, content (to `<|end|>` or the end of the reply).
/// - a call, with the recipient in the channel header,
///   `<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{…}`, or in the role
///   header, ` to=functions.NAME<|channel|>commentary json<|message|>{…}`; the model then ends
///   with `<|call|>` (an end-of-generation token, so not in the text).
///
/// Messages after the first are opened by `<|start|>assistant`. A stray `<|channel|>commentary`
/// (or `<|channel|>commentary to=assistant`) in front of a channel is skipped, as gpt-oss-20b
/// sometimes writes one; messages to other recipients (built-in tools such as `browser.search`)
/// are dropped, and so are calls when the request has no tools.
struct HarmonySyntax: ToolCallSyntax {
    static let channel = "<|channel|>", message = "<|message|>", end = "<|end|>"
    static let start = "<|start|>assistant", constrain = "<|constrain|>"
    static let functionsRecipient = " to=functions."
    /// The header of a thinking block (what `--reasoning-budget` counts after).
    static let analysisHeader = channel + "analysis" + message

    /// Thoughts go to `reasoning`; otherwise analysis blocks stay in `content` with their markers.
    var extractsReasoning = true
    /// Whether calls to `functions.*` are read (the request has tools and `tool_choice` is not `none`).
    var readsCalls = true
    /// A message the prompt left open (a continued assistant message, see `continuation`): the
    /// reply starts inside its body.
    var openChannel: OpenChannel?

    enum OpenChannel: Sendable { case analysis, final }

    /// How a continued assistant message ends the prompt, as llama-server writes it after the
    /// generation prompt `<|start|>assistant`: its thoughts in an analysis message, left open when
    /// there is no content yet; otherwise that message closed and a final one opened with the
    /// content.
    static func continuation(reasoning: String, content: String) -> String {
        var s = channel + "analysis" + message + reasoning
        if !content.isEmpty || reasoning.isEmpty { s += end + start + channel + "final" + message + content }
        return s
    }

    /// The message a prompt leaves open: the text after its last `<|start|>assistant` is an
    /// analysis or final header with a body and no `<|end|>`.
    static func openChannel(prompt: String) -> OpenChannel? {
        guard let last = prompt.range(of: start, options: .backwards) else { return nil }
        let tail = prompt[last.upperBound...]
        guard !tail.contains(end) else { return nil }
        if tail.hasPrefix(channel + "analysis" + message) { return .analysis }
        if tail.hasPrefix(channel + "final" + message) { return .final }
        return nil
    }

    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        // A reply cut off (the token limit) inside a header or marker keeps what it said before
        // it: the text is read again as a prefix, which fails only where the format breaks.
        guard partial else { return read(text, partial: false) ?? read(text, partial: true) }
        return read(text, partial: true)
    }

    private func read(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        var out = ParsedMessage()
        do throws(OutputParseStop) {
            if let open = openChannel {
                try readBody(of: open == .analysis ? "analysis" : "final", &c, into: &out, headerInPrompt: true)
                if c.atEnd { return finished(out) }
                try c.expect(Self.start)
            }
            while true {
                try readMessage(&c, into: &out)
                if c.atEnd { break }
                try c.expect(Self.start)
            }
        } catch .needMore {
            return finished(out)
        } catch {
            return nil
        }
        return finished(out)
    }

    /// Whitespace-only thoughts count as none (llama.cpp drops them).
    private func finished(_ message: ParsedMessage) -> ParsedMessage {
        var m = message
        if m.reasoning.allSatisfy(\.isWhitespace) { m.reasoning = "" }
        return m
    }

    /// One message after its `<|start|>assistant`, up to and including its `<|end|>`.
    private func readMessage(_ c: inout OutputCursor, into out: inout ParsedMessage) throws(OutputParseStop) {
        // A loop, not recursion: any number of stray commentary headers may come first.
        while true {
            if try c.lookingAt(Self.functionsRecipient) {
                // Recipient in the role header: ` to=functions.NAME<|channel|>commentary json<|message|>{…}`.
                c.at += Self.functionsRecipient.utf8.count
                let name = try readRecipientName(&c)
                try c.expect(Self.channel)
                _ = try readWord(&c)
                try readCall(named: name, &c, into: &out)
                return
            }
            if try c.lookingAt(" to=") {
                try skipMessage(&c)  // a message to another recipient
                return
            }
            try c.expect(Self.channel)
            let channel = try readWord(&c)
            if channel == "commentary" {
                // A stray commentary header in front of the real one.
                var stray = try c.skip(" to=assistant")
                if !stray { stray = try c.lookingAt(Self.channel) }
                if stray { continue }
            }
            if try c.lookingAt(Self.functionsRecipient) {
                c.at += Self.functionsRecipient.utf8.count
                let name = try readRecipientName(&c)
                try readCall(named: name, &c, into: &out)
                return
            }
            if try c.lookingAt(" to=") {
                try skipMessage(&c)
                return
            }
            try skipConstraint(&c)
            try c.expect(Self.message)
            try readBody(of: channel, &c, into: &out, headerInPrompt: false)
            return
        }
    }

    /// A message's body on `channel` up to and including its `<|end|>` (or the end of the reply).
    /// With reasoning left in content, an analysis block keeps its markers, except the header
    /// that the prompt already holds.
    private func readBody(of channel: String, _ c: inout OutputCursor, into out: inout ParsedMessage,
                          headerInPrompt: Bool) throws(OutputParseStop) {
        switch channel {
        case "analysis":
            if extractsReasoning {
                try c.readText(until: [Self.end], into: &out.reasoning)
            } else {
                if !headerInPrompt { out.content += Self.channel + "analysis" + Self.message }
                try c.readText(until: [Self.end], into: &out.content)
                if !c.atEnd { out.content += Self.end }
            }
        case "commentary", "final":
            try c.readText(until: [Self.end], into: &out.content)
        default:
            throw .invalid
        }
        if !c.atEnd { try c.expect(Self.end) }
    }

    /// A call's body: optional constraint, `<|message|>`, the JSON arguments. Calls are only read
    /// when the request has tools; otherwise the call is dropped like any unsolicited message.
    private func readCall(named name: String, _ c: inout OutputCursor, into out: inout ParsedMessage) throws(OutputParseStop) {
        guard readsCalls else { try skipMessage(&c); return }
        try skipConstraint(&c)
        try c.expect(Self.message)
        try c.readArguments(of: name, into: &out.toolCalls)
        c.skipSpace()
        _ = try c.skip(Self.end)
    }

    /// ` <|constrain|>json` or ` json`, if there.
    private func skipConstraint(_ c: inout OutputCursor) throws(OutputParseStop) {
        var present = try c.lookingAt(" ")
        if !present { present = try c.lookingAt(Self.constrain) }
        guard present else { return }
        c.skipSpace()
        _ = try c.skip(Self.constrain)
        _ = try readWord(&c)
    }

    /// Everything up to and including the next `<|end|>` (or the end of the reply).
    private func skipMessage(_ c: inout OutputCursor) throws(OutputParseStop) {
        var ignored = ""
        try c.readText(until: [Self.end], into: &ignored)
        if !c.atEnd { try c.expect(Self.end) }
    }

    /// Letters, digits, `_` and `-` (a channel name or a constraint type).
    private func readWord(_ c: inout OutputCursor) throws(OutputParseStop) -> String {
        let start = c.at
        while c.at < c.bytes.count, Self.isWordByte(c.bytes[c.at]) { c.at += 1 }
        if c.atEnd && c.partial { throw .needMore }
        guard c.at > start else { throw .invalid }
        return c.text(start..<c.at)
    }

    /// A function name after `to=functions.`: up to a space or the next marker.
    private func readRecipientName(_ c: inout OutputCursor) throws(OutputParseStop) -> String {
        let start = c.at
        while c.at < c.bytes.count, Self.isWordByte(c.bytes[c.at]) || c.bytes[c.at] == UInt8(ascii: ".") { c.at += 1 }
        if c.atEnd && c.partial { throw .needMore }
        guard c.at > start else { throw .invalid }
        return c.text(start..<c.at)
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
    }
}
