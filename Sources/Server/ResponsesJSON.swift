import Foundation
import JSON
import NIOCore
import Serving

/// The objects of the Responses API: the `response`, its output items and its usage.
enum ResponsesJSON {
    /// The ids of one response and of the items it may hold (a reply has at most one reasoning
    /// item and one message; function calls take their ids from their call ids).
    struct IDs: Sendable {
        let response = "resp_" + ResponseMeta.randomID()
        let reasoning = "rs_" + ResponseMeta.randomID()
        let message = "msg_" + ResponseMeta.randomID()

        func functionCall(_ callID: String) -> String { "fc_" + callID }
    }

    static func reasoningItem(id: String, text: String?, done: Bool) -> JSONValue {
        .object([("id", .string(id)), ("type", "reasoning"), ("summary", .array([])),
                 ("content", .array(text.map { [.object([("type", "reasoning_text"), ("text", .string($0))])] } ?? [])),
                 ("encrypted_content", ""), ("status", .string(done ? "completed" : "in_progress"))])
    }

    static func textPart(_ text: String) -> JSONValue {
        .object([("type", "output_text"), ("text", .string(text)), ("annotations", .array([])), ("logprobs", .array([]))])
    }

    static func messageItem(id: String, text: String?, done: Bool) -> JSONValue {
        .object([("id", .string(id)), ("type", "message"), ("role", "assistant"),
                 ("status", .string(done ? "completed" : "in_progress")),
                 ("content", .array(text.map { [textPart($0)] } ?? []))])
    }

    static func functionCallItem(id: String, callID: String, name: String, arguments: String, done: Bool) -> JSONValue {
        .object([("id", .string(id)), ("type", "function_call"), ("status", .string(done ? "completed" : "in_progress")),
                 ("call_id", .string(callID)), ("name", .string(name)), ("arguments", .string(arguments))])
    }

    /// A finished reply's items: thoughts, text, then each tool call (llama-server's order).
    static func outputItems(_ message: ParsedMessage, ids: IDs) -> [JSONValue] {
        var items: [JSONValue] = []
        if !message.reasoning.isEmpty { items.append(reasoningItem(id: ids.reasoning, text: message.reasoning, done: true)) }
        if !message.content.isEmpty { items.append(messageItem(id: ids.message, text: message.content, done: true)) }
        for (i, call) in message.toolCalls.enumerated() {
            let callID = call.id ?? "call_\(i)"
            items.append(functionCallItem(id: ids.functionCall(callID), callID: callID, name: call.name,
                                          arguments: call.arguments, done: true))
        }
        return items
    }

    static func usage(_ s: GenerationSummary) -> JSONValue {
        .object([("input_tokens", .int(s.promptTokenCount)), ("output_tokens", .int(s.predictedTokenCount)),
                 ("total_tokens", .int(s.promptTokenCount + s.predictedTokenCount)),
                 ("input_tokens_details", .object([("cached_tokens", .int(s.cachedTokenCount))])),
                 ("output_tokens_details", .object([("reasoning_tokens", .int(0))]))])
    }

    /// The `response` object: in progress (no summary yet) or finished. A reply cut by its token
    /// limit is `completed`, as llama-server reports it (clients written against it wait for
    /// `response.completed`), with OpenAI's `incomplete_details` saying why it stopped.
    static func response(ids: IDs, model: String, created: Int, output: [JSONValue], summary: GenerationSummary?) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("id", .string(ids.response)), ("object", "response"),
                                                          ("created_at", .int(created)), ("model", .string(model))]
        guard let summary else {
            members += [("status", "in_progress"), ("output", .array(output))]
            return .object(members)
        }
        let cut = summary.stopReason == .limit
        members += [("status", "completed"),
                    ("completed_at", .int(Int(Date().timeIntervalSince1970))),
                    ("incomplete_details", cut ? .object([("reason", "max_output_tokens")]) : .null),
                    ("output", .array(output)), ("usage", usage(summary))]
        return .object(members)
    }

    /// A `TimingsJSON` as a JSON value, for events built as values.
    static func value(_ timings: TimingsJSON) -> JSONValue {
        (try? JSONResponse.encode(timings)).flatMap { try? JSONValue.parse(utf8: Array($0)) } ?? .null
    }
}

/// The events of a streamed response. The chat parser's deltas say what the reply grew by;
/// this announces each output item as it starts (`response.output_item.added`), streams its
/// pieces, and closes every item at the end with its `done` events and `response.completed`.
struct ResponsesStream {
    let ids: ResponsesJSON.IDs
    let model: String
    let created: Int
    private var sequence = 0
    /// Output indexes in the order the items opened.
    private var reasoningIndex: Int?
    private var messageIndex: Int?
    private var callIndexes: [Int: (output: Int, id: String)] = [:]
    private var opened = 0

    init(ids: ResponsesJSON.IDs, model: String, created: Int) {
        self.ids = ids
        self.model = model
        self.created = created
    }

    private mutating func event(_ type: String, _ members: [(key: String, value: JSONValue)],
                                extra: [(key: String, value: JSONValue)] = []) -> ByteBuffer {
        let data: JSONValue = .object([("type", .string(type)), ("sequence_number", .int(sequence))] + members + extra)
        sequence += 1
        return ServerSentEvents.event(named: type, encoded: Data(data.serialized().utf8))
    }

    mutating func opening() -> [ByteBuffer] {
        let response = ResponsesJSON.response(ids: ids, model: model, created: created, output: [], summary: nil)
        return [event("response.created", [("response", response)]), event("response.in_progress", [("response", response)])]
    }

    /// Prompt processing advanced (`return_progress`).
    mutating func progress(_ p: PromptProgress) -> ByteBuffer {
        let response = ResponsesJSON.response(ids: ids, model: model, created: created, output: [], summary: nil)
        let progress: JSONValue = .object([("total", .int(p.total)), ("cache", .int(p.cached)), ("processed", .int(p.processed)),
                                           ("time_ms", .int(Int(p.milliseconds)))])
        return event("response.in_progress", [("response", response)], extra: [("prompt_progress", progress)])
    }

    /// The events that deliver `delta`; the last one carries `timings` when given.
    mutating func events(for delta: ChatOutputDelta, timings: TimingsJSON?) -> [ByteBuffer] {
        var out: [(String, [(key: String, value: JSONValue)])] = []
        if let thinking = delta.reasoning, !thinking.isEmpty {
            if reasoningIndex == nil {
                reasoningIndex = opened
                opened += 1
                out.append(("response.output_item.added", [("output_index", .int(reasoningIndex!)),
                                                           ("item", ResponsesJSON.reasoningItem(id: ids.reasoning, text: nil, done: false))]))
            }
            out.append(("response.reasoning_text.delta", [("item_id", .string(ids.reasoning)), ("output_index", .int(reasoningIndex!)),
                                                          ("content_index", .int(0)), ("delta", .string(thinking))]))
        }
        if let text = delta.content, !text.isEmpty {
            if messageIndex == nil {
                messageIndex = opened
                opened += 1
                out.append(("response.output_item.added", [("output_index", .int(messageIndex!)),
                                                           ("item", ResponsesJSON.messageItem(id: ids.message, text: nil, done: false))]))
                out.append(("response.content_part.added", [("item_id", .string(ids.message)), ("output_index", .int(messageIndex!)),
                                                            ("content_index", .int(0)), ("part", ResponsesJSON.textPart(""))]))
            }
            out.append(("response.output_text.delta", [("item_id", .string(ids.message)), ("output_index", .int(messageIndex!)),
                                                       ("content_index", .int(0)), ("delta", .string(text))]))
        }
        for call in delta.toolCalls {
            if let name = call.name {
                let callID = call.id ?? "call_\(call.index)"
                callIndexes[call.index] = (opened, ids.functionCall(callID))
                out.append(("response.output_item.added", [("output_index", .int(opened)),
                                                           ("item", ResponsesJSON.functionCallItem(
                                                               id: ids.functionCall(callID), callID: callID, name: name,
                                                               arguments: "", done: false))]))
                opened += 1
            }
            guard !call.arguments.isEmpty, let index = callIndexes[call.index] else { continue }
            out.append(("response.function_call_arguments.delta", [("item_id", .string(index.id)), ("output_index", .int(index.output)),
                                                                   ("delta", .string(call.arguments))]))
        }
        return out.enumerated().map { i, e in
            let last = i == out.count - 1
            return event(e.0, e.1, extra: last && timings != nil ? [("timings", ResponsesJSON.value(timings!))] : [])
        }
    }

    /// Every item's `done` events, then `response.completed` with the whole response (and the
    /// timings, as llama-server adds them).
    mutating func closing(_ message: ParsedMessage, summary s: GenerationSummary) -> [ByteBuffer] {
        var events: [ByteBuffer] = []
        if let index = reasoningIndex {
            events.append(event("response.reasoning_text.done", [("item_id", .string(ids.reasoning)), ("output_index", .int(index)),
                                                                 ("content_index", .int(0)), ("text", .string(message.reasoning))]))
            events.append(event("response.output_item.done", [("output_index", .int(index)),
                                                              ("item", ResponsesJSON.reasoningItem(id: ids.reasoning, text: message.reasoning, done: true))]))
        }
        if let index = messageIndex {
            let common: [(key: String, value: JSONValue)] = [("item_id", .string(ids.message)), ("output_index", .int(index)),
                                                             ("content_index", .int(0))]
            events.append(event("response.output_text.done", common + [("text", .string(message.content))]))
            events.append(event("response.content_part.done", common + [("part", ResponsesJSON.textPart(message.content))]))
            events.append(event("response.output_item.done", [("output_index", .int(index)),
                                                              ("item", ResponsesJSON.messageItem(id: ids.message, text: message.content, done: true))]))
        }
        for (i, call) in message.toolCalls.enumerated() {
            guard let index = callIndexes[i] else { continue }
            let callID = call.id ?? "call_\(i)"
            events.append(event("response.function_call_arguments.done", [("item_id", .string(index.id)),
                                                                          ("output_index", .int(index.output)),
                                                                          ("arguments", .string(call.arguments))]))
            events.append(event("response.output_item.done", [("output_index", .int(index.output)),
                                                              ("item", ResponsesJSON.functionCallItem(
                                                                  id: index.id, callID: callID, name: call.name,
                                                                  arguments: call.arguments, done: true))]))
        }
        // The finished response lists its items in the order they were announced.
        var output: [(Int, JSONValue)] = []
        if let index = reasoningIndex { output.append((index, ResponsesJSON.reasoningItem(id: ids.reasoning, text: message.reasoning, done: true))) }
        if let index = messageIndex { output.append((index, ResponsesJSON.messageItem(id: ids.message, text: message.content, done: true))) }
        for (i, call) in message.toolCalls.enumerated() {
            guard let index = callIndexes[i] else { continue }
            output.append((index.output, ResponsesJSON.functionCallItem(id: index.id, callID: call.id ?? "call_\(i)", name: call.name,
                                                                        arguments: call.arguments, done: true)))
        }
        let response = ResponsesJSON.response(ids: ids, model: model, created: created,
                                              output: output.sorted { $0.0 < $1.0 }.map(\.1), summary: s)
        events.append(event("response.completed", [("response", response)],
                            extra: [("timings", ResponsesJSON.value(TimingsJSON(s.timings, cached: s.cachedTokenCount)))]))
        return events
    }

    /// A failure mid-stream: an `error` event with llama-server's error fields.
    mutating func error(_ error: APIError) -> ByteBuffer {
        let detail = error.body.error
        return event("error", [("code", .int(detail.code)), ("message", .string(detail.message)), ("param", .null)])
    }
}
