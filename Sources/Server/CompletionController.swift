import Foundation
import JSON
import Sampling
import Hummingbird
import Serving

/// POST /completion (native llama-server API) and POST /infill.
struct CompletionController {
    let host: ModelHost

    func addRoutes(to router: Router<AppContext>) {
        router.post("/completion") { request, context in try await complete(request, context: context) }
        router.post("/completions") { request, context in try await complete(request, context: context) }
        router.post("/infill") { request, context in try await infill(request, context: context) }
    }

    func complete(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        let options = try CompletionOptions(fields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                                            adapterCount: served.engine.model.adapters.count)
        guard let promptJSON = fields["prompt"] else { throw APIError.badRequest("Missing required field 'prompt'") }
        if let system = options.systemPrompt { served.engine.setSystemPrompt(system) }
        let tokenizer = PromptTokenizer(tokenizer: served.tokenizer, hasSystemPrompt: served.engine.hasSystemPrompt)
        if let prompts = Self.separatePrompts(promptJSON) {
            try Self.checkPromptCount(prompts.count)
            return try await runBatch(try prompts.map { p throws(APIError) in try tokenizer.tokens(p) }, options: options,
                                      served: served, context: context)
        }
        let prompt = try tokenizer.tokens(promptJSON)
        return try await run(options.request(prompt: prompt.tokens, promptText: prompt.text), options: options,
                             served: served, context: context)
    }

    /// Most prompts one request may carry: each becomes a queued generation, and a body of tiny
    /// prompts could otherwise queue a million of them.
    static let maxPrompts = 1024

    static func checkPromptCount(_ count: Int) throws(APIError) {
        guard count <= maxPrompts else {
            throw .badRequest("A request may carry at most \(maxPrompts) prompts, got \(count)")
        }
    }

    /// Today's llama-server takes several prompts at once: an array holding token arrays or
    /// `{"prompt_string": …}` objects is a list of prompts. A flat array of strings and token ids
    /// stays one mixed prompt, as in the spec.
    static func separatePrompts(_ prompt: JSONValue) -> [JSONValue]? {
        guard case .array(let items) = prompt else { return nil }
        let nested = items.contains { item in
            switch item {
            case .array, .object: true
            default: false
            }
        }
        return nested ? items : nil
    }

    /// Several prompts: one generation each (they share the slots), answered as an array.
    private func runBatch(_ prompts: [(tokens: [Int32], text: String)], options: CompletionOptions, served: ServedModel,
                          context: AppContext) async throws -> Response {
        if options.stream { throw APIError.badRequest("Streaming is not supported with several prompts") }
        var handles: [(GenerationHandle, CompletionRenderer)] = []
        for prompt in prompts {
            let generation = options.request(prompt: prompt.tokens, promptText: prompt.text)
            do { handles.append((try served.engine.submit(generation),
                                 CompletionRenderer(served: served, request: generation, returnTokens: options.returnTokens,
                                                    postSamplingProbs: options.postSamplingProbs))) }
            catch { throw APIError.from(error) }
        }
        let bodies = try await context.cancellingOnDisconnect(handles.map(\.0)) {
            var bodies: [CompletionResponse] = []
            for (handle, renderer) in handles {
                let result = try await GenerationResult.collect(handle)
                bodies.append(renderer.final(summary: result.summary!, content: result.content, tokens: result.tokens,
                                             probabilities: result.probabilities))
            }
            return bodies
        }
        if let paths = options.responseFields {
            let cut = try bodies.map { try ResponseFields.cut($0, keeping: paths) }
            return JSONResponse.make(encoded: Data(JSONValue.array(cut).serialized().utf8))
        }
        return try JSONResponse.make(bodies)
    }

    /// /infill: `<FIM_PRE>prefix<FIM_SUF>suffix<FIM_MID>` after any `input_extra` context
    /// (`InfillPrompt`), then generation as /completion.
    func infill(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        let v = served.tokenizer.vocabulary
        guard v.fimPrefix != nil, v.fimSuffix != nil, v.fimMiddle != nil else {
            throw APIError.notSupported("This model does not support infill: it has no FIM prefix/suffix/middle tokens")
        }
        let options = try CompletionOptions(fields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                                            adapterCount: served.engine.model.adapters.count)
        let prefix = try fields.string("input_prefix") ?? ""
        let suffix = try fields.string("input_suffix") ?? ""
        let extra = try InfillPrompt.chunks(fields.array("input_extra"))
        let configuration = served.engine.configuration
        let tokens = InfillPrompt.tokens(prefix: prefix, suffix: suffix, extra: extra, tokenizer: served.tokenizer,
                                         contextSize: served.engine.slotContextSize,
                                         batchSize: configuration.logicalBatchSize,
                                         predictLimit: options.predictLimit < 0 ? configuration.defaultPredictLimit
                                                                                : options.predictLimit)
        return try await run(options.request(prompt: tokens, promptText: prefix + suffix), options: options,
                             served: served, context: context)
    }

    private func run(_ generation: GenerationRequest, options: CompletionOptions, served: ServedModel,
                     context: AppContext) async throws -> Response {
        let handle: GenerationHandle
        do { handle = try served.engine.submit(generation) } catch { throw APIError.from(error) }
        let renderer = CompletionRenderer(served: served, request: generation, returnTokens: options.returnTokens,
                                          postSamplingProbs: options.postSamplingProbs)
        if options.stream {
            return ServerSentEvents.response(context: context, handle: handle) { writer in
                for await event in handle.events {
                    switch event {
                    case .token(let t):
                        try await writer.write(ServerSentEvents.event(renderer.chunk(t)))
                    case .finished(let summary):
                        let last = renderer.final(summary: summary, content: summary.trailingText, tokens: [], probabilities: [])
                        if let paths = options.responseFields {
                            try await writer.write(ServerSentEvents.event(encoded: ResponseFields.encode(last, keeping: paths)))
                        } else {
                            try await writer.write(ServerSentEvents.event(last))
                        }
                    case .failed(let error):
                        try await writer.write(ServerSentEvents.event(APIError.from(error).body))
                    case .progress(let p):
                        try await writer.write(ServerSentEvents.event(ProgressChunk(p, slotID: nil)))
                    }
                }
            }
        }
        let result = try await context.cancellingOnDisconnect(handle) { try await GenerationResult.collect(handle) }
        let body = renderer.final(summary: result.summary!, content: result.content, tokens: result.tokens,
                                  probabilities: result.probabilities)
        if let paths = options.responseFields { return JSONResponse.make(encoded: try ResponseFields.encode(body, keeping: paths)) }
        return try JSONResponse.make(body)
    }
}

/// Builds /completion response objects for one request.
struct CompletionRenderer: Sendable {
    let served: ServedModel
    let request: GenerationRequest
    let returnTokens: Bool
    /// `post_sampling_probs`: today's fields report probabilities after sampling.
    var postSamplingProbs = false

    init(served: ServedModel, request: GenerationRequest, returnTokens: Bool, postSamplingProbs: Bool = false) {
        self.served = served
        self.request = request
        self.returnTokens = returnTokens
        self.postSamplingProbs = postSamplingProbs
    }

    func text(_ id: Int32) -> String { served.tokenizer.pieceString(id, special: false) }

    func chunk(_ t: GeneratedToken) -> CompletionChunk {
        CompletionChunk(content: t.text, id_slot: t.slotID,
                        completion_probabilities: t.probabilities.map {
                            [TokenProbabilitiesJSON($0, text: text, postSampling: postSamplingProbs)]
                        },
                        tokens: [t.token],  // every streamed piece names its token, as today's llama-server
                        timings: t.timings.map { TimingsJSON($0, cached: t.cachedTokenCount) })
    }

    func final(summary s: GenerationSummary, content: String, tokens: [Int32],
               probabilities: [Sampling.TokenProbabilities]) -> CompletionResponse {
        var word = ""
        if case .word(let w) = s.stopReason { word = w }
        var response = CompletionResponse(
            content: content, id_slot: s.slotID, model: served.alias, tokens_predicted: s.predictedTokenCount,
            tokens_evaluated: s.promptTokenCount,
            generation_settings: GenerationSettings(request: request, contextSize: served.engine.slotContextSize,
                                                    model: served.alias, seed: s.seed,
                                                    defaultPredictLimit: served.engine.configuration.defaultPredictLimit,
                                                    defaultKeepCount: served.engine.configuration.defaultKeepCount,
                                                    tokenize: served.penaltyTokens),
            prompt: request.promptText, truncated: s.truncated,
            stopped_eos: s.stopReason == .endOfGeneration, stopped_word: !word.isEmpty,
            stopped_limit: s.stopReason == .limit, stopping_word: word, tokens_cached: s.cachedTokenCount,
            timings: TimingsJSON(s.timings, cached: s.cachedTokenCount),
            completion_probabilities: request.sampling.nProbs > 0 ? probabilities.map { TokenProbabilitiesJSON($0, text: text, postSampling: postSamplingProbs) } : nil,
            tokens: returnTokens ? tokens : [])  // always there, empty unless asked for (and in a stream's last event)
        response.has_new_line = content.contains("\n")
        response.stop_type = switch s.stopReason {
        case .endOfGeneration: "eos"
        case .limit: "limit"
        case .word: "word"
        }
        return response
    }
}
