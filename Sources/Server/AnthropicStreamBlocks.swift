import JSON

/// The content blocks of a streamed Anthropic reply. The chat parser's deltas say what the reply
/// grew by; this turns them into block events. A block starts with its first piece and stops when
/// a block of another kind starts or the reply ends, so blocks come one at a time, numbered in
/// the order they open, as Anthropic streams them.
struct AnthropicStreamBlocks {
    private enum Block: Equatable {
        case thinking, text
        case toolUse(Int)
    }

    private var open: Block?
    private var opened = 0
    /// The block index of each tool call (by the parser's call index).
    private var callBlocks: [Int: Int] = [:]

    /// The events that deliver `delta`: thoughts, then text, then tool-call pieces.
    mutating func events(for delta: ChatOutputDelta) -> [AnthropicEvent] {
        var events: [AnthropicEvent] = []
        if let thinking = delta.reasoning, !thinking.isEmpty {
            events += enter(.thinking, AnthropicJSON.thinkingBlock(""))
            events.append(piece(.object([("type", "thinking_delta"), ("thinking", .string(thinking))]), index: opened - 1))
        }
        if let text = delta.content, !text.isEmpty {
            events += enter(.text, AnthropicJSON.textBlock(""))
            events.append(piece(.object([("type", "text_delta"), ("text", .string(text))]), index: opened - 1))
        }
        for call in delta.toolCalls {
            if let name = call.name {
                events += enter(.toolUse(call.index),
                                AnthropicJSON.toolUseBlock(id: call.id ?? ChatOutputParser.newID(), name: name, input: .object([])))
                callBlocks[call.index] = opened - 1
            }
            // A call's arguments only grow while it is the last thing written, so its block is
            // the open one; the index keeps a late piece with its call all the same.
            guard !call.arguments.isEmpty, let index = callBlocks[call.index] else { continue }
            events.append(piece(.object([("type", "input_json_delta"), ("partial_json", .string(call.arguments))]), index: index))
        }
        return events
    }

    /// Stops the open block: the reply is complete.
    mutating func finish() -> [AnthropicEvent] {
        guard let block = open else { return [] }
        open = nil
        var events: [AnthropicEvent] = []
        if block == .thinking {
            // Anthropic's clients expect a thinking block to end with its signature; a local
            // model's thoughts have none (llama-server sends it empty too).
            events.append(piece(.object([("type", "signature_delta"), ("signature", "")]), index: opened - 1))
        }
        events.append(AnthropicEvent("content_block_stop", [("index", .int(opened - 1))]))
        return events
    }

    /// Opens `block` unless it is the open one, stopping the block before it.
    private mutating func enter(_ block: Block, _ start: JSONValue) -> [AnthropicEvent] {
        guard open != block else { return [] }
        var events = finish()
        events.append(AnthropicEvent("content_block_start", [("index", .int(opened)), ("content_block", start)]))
        open = block
        opened += 1
        return events
    }

    private func piece(_ delta: JSONValue, index: Int) -> AnthropicEvent {
        AnthropicEvent("content_block_delta", [("index", .int(index)), ("delta", delta)])
    }
}
