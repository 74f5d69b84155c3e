/// What a streamed chunk adds to a reply: text, thoughts, or pieces of tool calls.
struct ChatOutputDelta: Equatable, Sendable {
    struct ToolCall: Equatable, Sendable {
        var index: Int
        /// Sent once, in a call's first delta, with its name.
        var id: String?
        var name: String?
        var arguments: String
    }
    var content: String?
    var reasoning: String?
    var toolCalls: [ToolCall] = []

    var isEmpty: Bool { content == nil && reasoning == nil && toolCalls.isEmpty }
}

/// Reads a chat reply as it is generated: splits thoughts off (when the template has them) and
/// tool calls (when the request has tools), and says what each new piece of text adds.
/// Text that may still become a marker or a call is held back until it is decided, so a half
/// written call never reaches the client as content.
struct ChatOutputParser {
    let syntax: (any ToolCallSyntax)?
    let reasoning: ReasoningSplit?
    private(set) var text = ""
    private var sent = ParsedMessage()
    private var ids: [String] = []

    init(syntax: (any ToolCallSyntax)?, reasoning: ReasoningSplit?) {
        self.syntax = syntax
        self.reasoning = reasoning
    }

    /// The whole reply read so far; `partial` while more may come.
    func parse(_ text: String, partial: Bool) -> ParsedMessage {
        var message = ParsedMessage()
        var rest = text
        if let reasoning {
            (message.reasoning, rest) = reasoning.split(text, partial: partial)
        }
        guard let syntax else {
            message.content = rest
            return message
        }
        // (A syntax whose format carries thoughts itself, Harmony, returns them too.)
        if let parsed = syntax.parse(rest, partial: partial) {
            message.content = parsed.content
            message.reasoning += parsed.reasoning
            message.toolCalls = parsed.toolCalls
        } else if !partial {
            // A reply cut off inside a call (the token limit) keeps the calls it completed;
            // one that breaks the format is text after all.
            if let cut = syntax.parse(rest, partial: true), cut.toolCalls.contains(where: \.isComplete) {
                message.content = cut.content
                message.reasoning += cut.reasoning
                message.toolCalls = cut.toolCalls.filter(\.isComplete)
            } else {
                message.content = rest
            }
        } else {
            message.content = sent.content  // undecided until the end
        }
        return message
    }

    /// Adds generated text; returns what the client should be sent now (nil: nothing yet).
    mutating func add(_ piece: String) -> ChatOutputDelta? {
        text += piece
        return delta(to: parse(text, partial: true))
    }

    /// The reply is complete: the final message and the last delta.
    mutating func finish() -> (message: ParsedMessage, delta: ChatOutputDelta?) {
        let message = parse(text, partial: false)
        return (withIDs(message), delta(to: message))
    }

    /// Every call gets an id: the model's own, else a generated one (stable while streaming).
    mutating func withIDs(_ message: ParsedMessage) -> ParsedMessage {
        var m = message
        for i in m.toolCalls.indices where m.toolCalls[i].id == nil { m.toolCalls[i].id = id(i) }
        return m
    }

    private mutating func id(_ index: Int) -> String {
        while ids.count <= index { ids.append(Self.newID()) }
        return ids[index]
    }

    static func newID() -> String {
        let chars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<32).map { _ in chars.randomElement()! })
    }

    /// What `message` adds to what has been sent. Only growth is sent: a field that changed in a
    /// way that is not an extension (which a well-formed reply never does) is left as sent.
    private mutating func delta(to message: ParsedMessage) -> ChatOutputDelta? {
        var d = ChatOutputDelta()
        if let more = Self.growth(of: sent.content, to: message.content) {
            d.content = more
            sent.content = message.content
        }
        if let more = Self.growth(of: sent.reasoning, to: message.reasoning) {
            d.reasoning = more
            sent.reasoning = message.reasoning
        }
        for (i, call) in message.toolCalls.enumerated() {
            if i < sent.toolCalls.count {
                guard sent.toolCalls[i].name == call.name,
                      let more = Self.growth(of: sent.toolCalls[i].arguments, to: call.arguments) else { continue }
                d.toolCalls.append(.init(index: i, arguments: more))
                sent.toolCalls[i].arguments = call.arguments
            } else if i == sent.toolCalls.count {
                d.toolCalls.append(.init(index: i, id: call.id ?? id(i), name: call.name, arguments: call.arguments))
                sent.toolCalls.append(call)
            }
        }
        return d.isEmpty ? nil : d
    }

    /// Compared scalar by scalar: a new token can extend the last character sent (`\n` after
    /// `\r`, a combining mark after its base), and by characters that was no growth at all.
    static func growth(of old: String, to new: String) -> String? {
        let sent = old.unicodeScalars, now = new.unicodeScalars
        guard now.count > sent.count, now.starts(with: sent) else { return nil }
        return String(now.dropFirst(sent.count))
    }
}
