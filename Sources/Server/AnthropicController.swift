import Foundation
import Hummingbird
import JSON
import Serving

/// Anthropic's Messages API, as today's llama-server serves it: POST /v1/messages and
/// /v1/messages/count_tokens. A request is rewritten as an OpenAI chat (`AnthropicRequest`) and
/// runs through the chat pipeline (template, tool-call grammar and parsing, thinking split); the
/// reply comes back as an Anthropic message or event stream. Errors keep llama-server's shape
/// (`{"error": {"code", "message", "type"}}`), as llama-server answers them on these routes too.
struct AnthropicController {
    let host: ModelHost
    /// The chat pipeline the requests run through.
    let chats: OpenAIController

    func addRoutes(to router: Router<AppContext>) {
        router.post("/v1/messages") { request, context in try await messages(request, context: context) }
        router.post("/v1/messages/count_tokens") { request, context in try await countTokens(request, context: context) }
    }

    func messages(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let anthropic = try AnthropicRequest(try await request.jsonFields(context: context))
        var chat = try chatRequest(anthropic, served: served)
        var prepared = try chats.prepare(&chat, served: served)
        // With timings, each token carries how much of the prompt came from the cache, which
        // message_start reports before the reply is over.
        prepared.generation.reportsTimings = chat.options.stream
        let handle: GenerationHandle
        do { handle = try served.engine.submit(prepared.generation) } catch { throw APIError.from(error) }
        let id = "msg_" + ResponseMeta.randomID(), model = served.alias
        let stopSequences = anthropic.stopSequences
        let promptCount = prepared.generation.promptTokens.count

        if chat.options.stream {
            return ServerSentEvents.response(context: context, handle: handle) { [parser = prepared.parser] writer in
                var parser = parser
                var blocks = AnthropicStreamBlocks()
                var started = false
                func messageStart(prompt: Int, cached: Int) -> AnthropicEvent {
                    started = true
                    let empty = AnthropicJSON.message(id: id, model: model, content: [], stop: nil,
                                                      usage: AnthropicJSON.usage(promptTokens: prompt, cachedTokens: cached, outputTokens: 0))
                    return AnthropicEvent("message_start", [("message", empty)])
                }
                for await event in handle.events {
                    var events: [AnthropicEvent] = []
                    switch event {
                    case .token(let t):
                        if !started {
                            let uncached = t.timings?.promptTokens ?? promptCount - t.cachedTokenCount
                            events.append(messageStart(prompt: uncached + t.cachedTokenCount, cached: t.cachedTokenCount))
                        }
                        if let delta = parser.add(t.text) { events += blocks.events(for: delta) }
                    case .finished(let s):
                        if !started { events.append(messageStart(prompt: s.promptTokenCount, cached: s.cachedTokenCount)) }
                        if let delta = parser.add(s.trailingText) { events += blocks.events(for: delta) }
                        let (message, last) = parser.finish()
                        if let last { events += blocks.events(for: last) }
                        events += blocks.finish()
                        let stop = AnthropicJSON.stop(s.stopReason, toolCalls: !message.toolCalls.isEmpty, stopSequences: stopSequences)
                        events.append(AnthropicEvent("message_delta", [
                            ("delta", .object([("stop_reason", .string(stop.reason)),
                                               ("stop_sequence", stop.sequence.map { JSONValue.string($0) } ?? .null)])),
                            ("usage", .object([("output_tokens", .int(s.predictedTokenCount))])),
                        ]))
                        events.append(AnthropicEvent("message_stop"))
                    case .failed(let error):
                        events.append(AnthropicEvent(error: APIError.from(error)))
                    case .progress: continue
                    }
                    for event in events { try await writer.write(event.serverSentEvent) }
                }
            }
        }
        let result = try await context.cancellingOnDisconnect(handle) { try await GenerationResult.collect(handle) }
        let s = result.summary!
        var parser = prepared.parser
        _ = parser.add(result.content)
        let message = parser.finish().message
        let body = AnthropicJSON.message(
            id: id, model: model, content: AnthropicJSON.contentBlocks(message),
            stop: AnthropicJSON.stop(s.stopReason, toolCalls: !message.toolCalls.isEmpty, stopSequences: stopSequences),
            usage: AnthropicJSON.usage(promptTokens: s.promptTokenCount, cachedTokens: s.cachedTokenCount,
                                       outputTokens: s.predictedTokenCount))
        return JSONResponse.make(encoded: Data(body.serialized().utf8))
    }

    /// The prompt's size in tokens, as `usage` would count it (cached or not), without running it.
    func countTokens(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let chat = try chatRequest(AnthropicRequest(try await request.jsonFields(context: context)), served: served)
        return try OpenAIController.inputTokenCount(try chats.promptTokenCount(chat, served: served))
    }

    private func chatRequest(_ anthropic: AnthropicRequest, served: ServedModel) throws(APIError) -> ChatRequest {
        try ChatRequest(anthropic.chatFields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                        adapterCount: served.engine.model.adapters.count, allowsNoMessages: true)
    }
}
