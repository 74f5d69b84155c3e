import Foundation
import Hummingbird
import JSON
import Serving

/// OpenAI's Responses API, as today's llama-server serves it: POST /v1/responses (and
/// /responses) and POST /v1/responses/input_tokens. A request is rewritten as a chat
/// (`ResponsesRequest`) and runs through the chat pipeline; the reply comes back as a `response`
/// object or as Responses stream events. Nothing is stored: every request carries its whole
/// conversation.
struct ResponsesController {
    let host: ModelHost
    /// The chat pipeline the requests run through.
    let chats: OpenAIController

    func addRoutes(to router: Router<AppContext>) {
        for path in ["/v1/responses", "/responses"] {
            router.post(RouterPath(path)) { request, context in try await respond(request, context: context) }
        }
        for path in ["/v1/responses/input_tokens", "/responses/input_tokens"] {
            router.post(RouterPath(path)) { request, context in try await countTokens(request, context: context) }
        }
    }

    func respond(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        var chat = try chatRequest(ResponsesRequest(try await request.jsonFields(context: context)), served: served)
        if chat.choiceCount > 1 { throw APIError.badRequest("n is not supported on /v1/responses") }
        let prepared = try chats.prepare(&chat, served: served)
        let handle: GenerationHandle
        do { handle = try served.engine.submit(prepared.generation) } catch { throw APIError.from(error) }
        let ids = ResponsesJSON.IDs()
        let model = served.alias, created = Int(Date().timeIntervalSince1970)

        if chat.options.stream {
            return ServerSentEvents.response(context: context, handle: handle) { [parser = prepared.parser] writer in
                var parser = parser
                var stream = ResponsesStream(ids: ids, model: model, created: created)
                for event in stream.opening() { try await writer.write(event) }
                for await event in handle.events {
                    switch event {
                    case .progress(let p):
                        try await writer.write(stream.progress(p))
                    case .token(let t):
                        guard let delta = parser.add(t.text) else { continue }
                        let timings = t.timings.map { TimingsJSON($0, cached: t.cachedTokenCount) }
                        for event in stream.events(for: delta, timings: timings) { try await writer.write(event) }
                    case .finished(let s):
                        if let delta = parser.add(s.trailingText) {
                            for event in stream.events(for: delta, timings: nil) { try await writer.write(event) }
                        }
                        let (message, last) = parser.finish()
                        if let last { for event in stream.events(for: last, timings: nil) { try await writer.write(event) } }
                        for event in stream.closing(message, summary: s) { try await writer.write(event) }
                    case .failed(let error):
                        try await writer.write(stream.error(APIError.from(error)))
                    }
                }
            }
        }
        let result = try await context.cancellingOnDisconnect(handle) { try await GenerationResult.collect(handle) }
        var parser = prepared.parser
        _ = parser.add(result.content)
        let message = parser.finish().message
        let body = ResponsesJSON.response(ids: ids, model: model, created: created,
                                          output: ResponsesJSON.outputItems(message, ids: ids), summary: result.summary!)
        return JSONResponse.make(encoded: Data(body.serialized().utf8))
    }

    /// The prompt's size in tokens, without running it.
    func countTokens(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let chat = try chatRequest(ResponsesRequest(try await request.jsonFields(context: context)), served: served)
        let count = try chats.promptTokenCount(chat, served: served)
        let body: JSONValue = .object([("object", "response.input_tokens"), ("input_tokens", .int(count))])
        return JSONResponse.make(encoded: Data(body.serialized().utf8))
    }

    private func chatRequest(_ responses: ResponsesRequest, served: ServedModel) throws(APIError) -> ChatRequest {
        try ChatRequest(responses.chatFields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                        adapterCount: served.engine.model.adapters.count)
    }
}
