import Foundation
import Grammar
import Hummingbird
import JSON
import Sampling
import Serving
import Templates

/// The OpenAI-compatible routes: /v1/chat/completions, /v1/completions, /v1/models,
/// plus /apply-template (the chat template alone).
struct OpenAIController {
    let host: ModelHost
    var configuration = ServerConfiguration()

    func addRoutes(to router: Router<AppContext>) {
        for path in ["/v1/chat/completions", "/chat/completions"] {
            router.post(RouterPath(path)) { request, context in try await chat(request, context: context) }
        }
        for path in ["/v1/chat/completions/input_tokens", "/chat/completions/input_tokens"] {
            router.post(RouterPath(path)) { request, context in try await countInputTokens(request, context: context) }
        }
        router.post("/v1/completions") { request, context in try await textCompletion(request, context: context) }
        router.get("/v1/models") { _, _ in try await models() }
        router.get("/models") { _, _ in try await models() }
        // The id is everything after models/: the default id is the model's path, slashes and all.
        for path in ["/v1/models/**", "/models/**"] {
            router.get(RouterPath(path)) { _, context in
                let id = context.parameters.getCatchAll().joined(separator: "/")
                return try await model(id.removingPercentEncoding ?? id)
            }
        }
        router.post("/apply-template") { request, context in try await applyTemplate(request, context: context) }
    }

    // MARK: Chat

    func chat(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        var chat = try ChatRequest(fields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                                   adapterCount: served.engine.model.adapters.count)
        let prepared = try prepare(&chat, served: served)
        let generation = prepared.generation, parser = prepared.parser
        if chat.options.stream && chat.choiceCount > 1 { throw APIError.badRequest("n > 1 is not supported with stream") }
        let handle: GenerationHandle
        var others: [GenerationHandle] = []
        do {
            handle = try served.engine.submit(generation)
            // Each further choice gets the next seed, so a seeded request's choices differ (and repeat).
            for i in 1..<chat.choiceCount {
                var next = generation
                if !next.sampling.usesRandomSeed {
                    // Within the request range (below 2^53; -s alone is not bounded above).
                    next.sampling.seed = Int64((UInt64(next.sampling.seed) &+ UInt64(i)) % (1 << 53))
                    if next.sampling.usesRandomSeed { next.sampling.seed += 1 }
                }
                others.append(try served.engine.submit(next))
            }
        } catch { throw APIError.from(error) }
        let meta = ResponseMeta(id: "chatcmpl-" + ResponseMeta.randomID(), served: served)
        let logprobs = LogprobRenderer(tokenizer: served.tokenizer, top: chat.topLogprobs)

        if chat.options.stream {
            let wantsLogprobs = chat.logprobs, usage = chat.includeUsage, reportsTimings = generation.reportsTimings
            return ServerSentEvents.response(context: context, handle: handle) { writer in
                var parser = parser
                try await writer.write(ServerSentEvents.event(meta.chatChunk(ChatDeltaJSON(role: "assistant"))))
                for await event in handle.events {
                    switch event {
                    case .token(let t):
                        let lp = wantsLogprobs ? t.probabilities.map { ChatLogprobsJSON(content: [logprobs.chat($0)]) } : nil
                        let delta = parser.add(t.text)
                        guard delta != nil || lp != nil else { continue }
                        var chunk = meta.chatChunk(delta.map(ChatDeltaJSON.init) ?? ChatDeltaJSON(), logprobs: lp)
                        chunk.timings = t.timings.map { TimingsJSON($0, cached: t.cachedTokenCount) }
                        try await writer.write(ServerSentEvents.event(chunk))
                    case .finished(let s):
                        if let d = parser.add(s.trailingText) {
                            // Held-back text released at the end is content like any other: with
                            // timings_per_token it carries the timings too.
                            var chunk = meta.chatChunk(ChatDeltaJSON(d))
                            if reportsTimings { chunk.timings = TimingsJSON(s.timings, cached: s.cachedTokenCount) }
                            try await writer.write(ServerSentEvents.event(chunk))
                        }
                        let (message, last) = parser.finish()
                        if let last { try await writer.write(ServerSentEvents.event(meta.chatChunk(ChatDeltaJSON(last)))) }
                        let finish = s.stopReason.finishReason(toolCalls: !message.toolCalls.isEmpty)
                        try await writer.write(ServerSentEvents.event(meta.chatChunk(ChatDeltaJSON(), finish: finish)))
                        if usage {
                            var last = meta.chatChunk(ChatDeltaJSON())
                            last.choices = []
                            last.usage = UsageJSON(prompt: s.promptTokenCount, completion: s.predictedTokenCount)
                            last.timings = TimingsJSON(s.timings, cached: s.cachedTokenCount)
                            try await writer.write(ServerSentEvents.event(last))
                        }
                    case .failed(let error):
                        try await writer.write(ServerSentEvents.event(APIError.from(error).body))
                    case .progress: continue
                    }
                }
                try await writer.write(ServerSentEvents.done)
            }
        }
        // One watch on the connection cancels every choice when the client goes away.
        let results = try await context.cancellingOnDisconnect([handle] + others) {
            var results: [GenerationResult] = []
            for h in [handle] + others { results.append(try await GenerationResult.collect(h)) }
            return results
        }
        let result = results[0]
        let s = result.summary!
        let choices = results.enumerated().map { index, r in
            var p = parser
            _ = p.add(r.content)
            let message = p.finish().message
            return ChatChoiceJSON(index: index, message: ChatMessageJSON(message),
                                  finish_reason: r.summary!.stopReason.finishReason(toolCalls: !message.toolCalls.isEmpty),
                                  logprobs: chat.logprobs ? ChatLogprobsJSON(content: r.probabilities.map(logprobs.chat)) : nil)
        }
        let completionTokens = results.reduce(0) { $0 + $1.summary!.predictedTokenCount }
        var body = ChatCompletionJSON(
            id: meta.id, created: meta.created, model: meta.model, system_fingerprint: meta.fingerprint,
            choices: choices, usage: UsageJSON(prompt: s.promptTokenCount, completion: completionTokens))
        if try fields.bool("verbose") ?? configuration.verbose {
            body.__verbose = CompletionRenderer(served: served, request: generation, returnTokens: false)
                .final(summary: s, content: result.content, tokens: result.tokens, probabilities: result.probabilities)
        }
        return try JSONResponse.make(body)
    }

    /// ChatML's end of turn. A model chatting in ChatML without it as a special token (the format
    /// of models without a template, or `--chat-template chatml`) writes it as text, so the reply
    /// stops there, as the spec's server stopped every OpenAI chat.
    static let chatMLEnd = "<|im_end|>"

    /// A chat request made ready to run: the engine request for its rendered prompt and the
    /// parser that reads the reply. Shared by every route that runs a chat (OpenAI, Anthropic).
    struct PreparedChat {
        var generation: GenerationRequest
        var parser: ChatOutputParser
    }

    /// Renders `chat` through the template, adds the tool-call grammar (or the gpt-oss schema
    /// grammar) and the thinking budget, and tokenizes the prompt; `chat`'s options are updated
    /// with what the template and tools add (grammar, ChatML's end-of-turn stop).
    func prepare(_ chat: inout ChatRequest, served: ServedModel) throws(APIError) -> PreparedChat {
        let plan = try ChatToolPlan(tools: chat.tools, choice: chat.toolChoice, parallel: chat.parallelToolCalls,
                                    templateSource: served.chatTemplate.source)
        if let calls = plan.grammar {
            if chat.options.grammar != nil {
                throw APIError.badRequest("Cannot use a custom grammar (grammar, json_schema or response_format) together with tool calls")
            }
            chat.options.grammar = try calls.grammar
            chat.options.grammarSource = calls.gbnf
        } else if plan.format == .gptOss, chat.options.grammarIsSchema {
            // As llama-server for this format: the schema constrains the final channel's body.
            let gbnf = HarmonyGrammar.finalChannel(around: chat.options.grammarSource)
            do { chat.options.grammar = try Grammar.parse(gbnf, root: HarmonyGrammar.finalRoot) } catch {
                throw APIError.badRequest("Failed to build the response_format grammar: \(error.description)")
            }
            chat.options.grammarSource = gbnf
        }
        if served.chatTemplate.builtin == .chatml, !chat.options.stopStrings.contains(Self.chatMLEnd) {
            chat.options.stopStrings.append(Self.chatMLEnd)
        }
        let text = try render(chat, plan: plan, served: served)
        let prompt = try PromptTokenizer(tokenizer: served.tokenizer, hasSystemPrompt: served.engine.hasSystemPrompt)
            .tokens(.string(text))
        var generation = chat.options.request(prompt: prompt.tokens, promptText: text)
        generation.grammarTrigger = plan.grammar?.trigger
        generation.reasoningBudget = reasoningBudget(chat, format: plan.format, templateSource: served.chatTemplate.source,
                                                     prompt: text)
        let reasoningFormat = chat.reasoningFormat ?? configuration.reasoningFormat
        let parser = ChatOutputParser(
            syntax: plan.replySyntax(extractsReasoning: reasoningFormat != .none, prompt: text),
            reasoning: reasoningFormat == .none ? nil : ReasoningSplit(templateSource: served.chatTemplate.source, prompt: text))
        return PreparedChat(generation: generation, parser: parser)
    }

    /// The reply's thinking budget: the request's, else `--reasoning-budget`; nil when unlimited
    /// or when the template has no thinking block to count (as llama-server, which takes the
    /// markers from the template).
    private func reasoningBudget(_ chat: ChatRequest, format: ChatFormat, templateSource: String,
                                 prompt: String) -> ReasoningBudget? {
        let tokens = chat.reasoningBudget ?? configuration.reasoningBudget
        let message = chat.reasoningBudgetMessage ?? configuration.reasoningBudgetMessage
        guard tokens >= 0 else { return nil }
        if format == .gptOss {  // Harmony's thoughts: an analysis message, ended by <|end|> (as llama-server)
            return ReasoningBudget(tokens: tokens, open: HarmonySyntax.analysisHeader, close: HarmonySyntax.end,
                                   message: message, startsInside: HarmonySyntax.openChannel(prompt: prompt) == .analysis)
        }
        guard let block = ReasoningSplit(templateSource: templateSource, prompt: prompt) else { return nil }
        return ReasoningBudget(tokens: tokens, open: block.open, close: block.close, message: message,
                               startsInside: block.startsInside)
    }

    private func render(_ chat: ChatRequest, plan: ChatToolPlan? = nil, served: ServedModel) throws(APIError) -> String {
        // llama-server's legacy (non-Jinja) chat formatting has no notion of tools.
        if chat.tools != nil && !configuration.jinjaEnabled { throw .badRequest("tools param requires --jinja flag") }
        let source = served.chatTemplate.source
        let plan = if let plan { plan } else {
            try ChatToolPlan(tools: chat.tools, choice: chat.toolChoice, parallel: chat.parallelToolCalls, templateSource: source)
        }
        do {
            let text = try served.chatTemplate.render(messages: plan.messagesForTemplate(chat.messages, templateSource: source),
                                                      addGenerationPrompt: chat.continuation.addGenerationPrompt,
                                                      tools: chat.tools,
                                                      bosToken: served.tokenText(served.tokenizer.vocabulary.bos),
                                                      eosToken: served.tokenText(served.tokenizer.vocabulary.eos),
                                                      extra: TemplateContext.dateVariables()
                                                        .merging(served.reasoning.templateVariables) { $1 }
                                                        .merging(configuration.chatTemplateKwargs) { $1 }
                                                        .merging(chat.templateVariables) { $1 },
                                                      options: TemplateContext.renderOptions)
            if let prefill = chat.continuation.prefill {
                guard plan.format == .gptOss else { return text + prefill }
                return text + HarmonySyntax.continuation(reasoning: chat.continuation.prefillReasoning ?? "", content: prefill)
            }
            guard chat.continuation.addGenerationPrompt else { return text }
            return served.reasoning.adjust(prompt: text, templateSource: served.chatTemplate.source)
        } catch {
            throw .badRequest("Failed to apply the chat template: \(error)")
        }
    }

    /// Today's llama-server: how many prompt tokens a chat request would use, without running it.
    func countInputTokens(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        let chat = try ChatRequest(fields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                                   adapterCount: served.engine.model.adapters.count)
        return try Self.inputTokenCount(try promptTokenCount(chat, served: served))
    }

    /// How many tokens `chat`'s rendered prompt has (the prompt `prepare` would submit).
    func promptTokenCount(_ chat: ChatRequest, served: ServedModel) throws(APIError) -> Int {
        try PromptTokenizer(tokenizer: served.tokenizer, hasSystemPrompt: served.engine.hasSystemPrompt)
            .tokens(.string(try render(chat, served: served))).tokens.count
    }

    /// `{"input_tokens": N}`, the answer of both token-counting routes (OpenAI's and Anthropic's).
    static func inputTokenCount(_ count: Int) throws -> Response {
        struct Count: Encodable { var input_tokens: Int }
        return try JSONResponse.make(Count(input_tokens: count))
    }

    func applyTemplate(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        let chat = try ChatRequest(fields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                                   adapterCount: served.engine.model.adapters.count)
        struct Rendered: Encodable { var prompt: String }
        return try JSONResponse.make(Rendered(prompt: try render(chat, served: served)))
    }

    // MARK: Legacy completions

    func textCompletion(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        var options = try CompletionOptions(fields, vocabularySize: served.vocabularySize, defaults: served.samplingDefaults,
                                            adapterCount: served.engine.model.adapters.count)
        if let n = try fields.int("max_tokens", in: 0...Int(Int32.max)) { options.predictLimit = n }
        if try fields.bool("echo") == true { throw APIError.badRequest("echo is not supported") }
        if let n = try fields.int("n"), n != 1 { throw APIError.badRequest("Only one completion choice is allowed (n = 1)") }
        let top = try fields.int("logprobs") ?? 0
        guard (0...20).contains(top) else { throw APIError.badRequest("logprobs must be between 0 and 20, got \(top)") }
        if fields.has("logprobs") { options.sampling.nProbs = max(1, top) }
        let wantsLogprobs = fields.has("logprobs")
        let includeUsage = try fields.object("stream_options")?.bool("include_usage") ?? false
        guard let promptJSON = fields["prompt"] else { throw APIError.badRequest("Missing required field 'prompt'") }
        let tokenizer = PromptTokenizer(tokenizer: served.tokenizer, hasSystemPrompt: served.engine.hasSystemPrompt)
        let separate = Self.separatePrompts(promptJSON)
        try CompletionController.checkPromptCount(separate.count)
        let prompts = try separate.map { p throws(APIError) in try tokenizer.tokens(p) }
        var handles: [GenerationHandle] = []
        do throws(EngineError) {
            for prompt in prompts {
                handles.append(try served.engine.submit(options.request(prompt: prompt.tokens, promptText: prompt.text)))
            }
        } catch {
            for handle in handles { handle.cancel() }
            throw APIError.from(error)
        }
        let meta = ResponseMeta(id: "cmpl-" + ResponseMeta.randomID(), served: served)
        let logprobs = LogprobRenderer(tokenizer: served.tokenizer, top: top)

        if options.stream {
            return ServerSentEvents.response(context: context, handles: handles) { [handles] writer in
                // Choices stream side by side, each chunk naming its prompt's index; the last one to
                // finish carries the usage of all.
                var finished = 0, promptTokens = 0, completionTokens = 0
                // Each choice's text_offset runs on from its previous token's.
                var offsets = [Int](repeating: 0, count: handles.count)
                for await (index, event) in GenerationHandle.merged(handles) {
                    switch event {
                    case .token(let t):
                        let lp = wantsLogprobs ? t.probabilities.map { logprobs.legacy([$0], startOffset: offsets[index]) } : nil
                        if wantsLogprobs { offsets[index] = logprobs.legacyOffset(after: t.token, from: offsets[index]) }
                        guard !t.text.isEmpty || lp != nil else { continue }
                        var chunk = meta.textChunk(t.text, index: index, logprobs: lp)
                        chunk.timings = t.timings.map { TimingsJSON($0, cached: t.cachedTokenCount) }
                        try await writer.write(ServerSentEvents.event(chunk))
                    case .finished(let s):
                        finished += 1
                        promptTokens += s.promptTokenCount
                        completionTokens += s.predictedTokenCount
                        let last = meta.textChunk(s.trailingText, index: index, finish: s.stopReason.finishReason)
                        try await writer.write(ServerSentEvents.event(last))
                        if includeUsage && finished == handles.count {
                            // As OpenAI (and the chat stream): usage comes in a chunk of its own, with no choices.
                            var usage = meta.textChunk("")
                            usage.choices = []
                            usage.usage = UsageJSON(prompt: promptTokens, completion: completionTokens)
                            try await writer.write(ServerSentEvents.event(usage))
                        }
                    case .failed(let error):
                        // This choice is over too: the others' usage still comes when they end.
                        finished += 1
                        try await writer.write(ServerSentEvents.event(APIError.from(error).body))
                    case .progress: continue
                    }
                }
                try await writer.write(ServerSentEvents.done)
            }
        }
        let results = try await context.cancellingOnDisconnect(handles) {
            var results: [GenerationResult] = []
            for handle in handles { results.append(try await GenerationResult.collect(handle)) }
            return results
        }
        var body = meta.textChunk("")
        body.choices = results.enumerated().map { index, r in
            TextChoiceJSON(text: r.content, index: index,
                           logprobs: wantsLogprobs ? logprobs.legacy(r.probabilities, startOffset: 0) : nil,
                           finish_reason: r.summary!.stopReason.finishReason)
        }
        body.usage = UsageJSON(prompt: results.reduce(0) { $0 + $1.summary!.promptTokenCount },
                               completion: results.reduce(0) { $0 + $1.summary!.predictedTokenCount })
        return try JSONResponse.make(body)
    }

    /// OpenAI's `prompt`: a string, an array of token ids (one prompt), an array of strings or an
    /// array of token arrays (one prompt each, answered as choices 0, 1, …). Arrays holding
    /// `{"prompt_string": …}` objects split as on /completion; a flat array mixing strings and
    /// token ids stays one prompt.
    static func separatePrompts(_ prompt: JSONValue) -> [JSONValue] {
        if case .array(let items) = prompt, !items.isEmpty,
           items.allSatisfy({ if case .string = $0 { true } else { false } }) {
            return items
        }
        return CompletionController.separatePrompts(prompt) ?? [prompt]
    }

    // MARK: Models

    func models() async throws -> Response {
        try JSONResponse.make(ModelListJSON(data: try await modelEntries()))
    }

    /// `GET /v1/models/{id}` (OpenAI's retrieve): the model named by its id or one of its aliases.
    func model(_ id: String) async throws -> Response {
        guard let entry = try await modelEntries().first(where: { $0.id == id || $0.aliases.contains(id) }) else {
            throw APIError(.notFound, .notFound, "The model '\(id)' does not exist")
        }
        return try JSONResponse.make(entry)
    }

    /// The model list does not wake a sleeping model (as llama-server).
    private func modelEntries() async throws -> [ModelListJSON.Model] {
        switch host.state {
        case .noModel: return []
        case .sleeping(let snapshot): return snapshot.models
        default: return Self.modelEntries(try await host.served())
        }
    }

    static func modelEntries(_ served: ServedModel) -> [ModelListJSON.Model] {
        let c = served.engine.model.config
        let size = (try? FileManager.default.attributesOfItem(atPath: served.modelPath)[.size] as? Int) ?? 0
        let meta = ModelListJSON.Meta(vocab_type: 1, n_vocab: c.vocabularySize, n_ctx_train: c.contextLength,
                                      n_embd: c.embeddingLength, size: size, n_ctx: served.engine.slotContextSize,
                                      n_params: served.engine.model.file.tensors.reduce(0) { $0 + $1.elementCount })
        return [.init(id: served.alias, aliases: served.aliases, tags: served.tags, created: served.createdAt, meta: meta)]
    }
}

/// id/created/model shared by every object of one response.
struct ResponseMeta: Sendable {
    let id: String
    let created = Int(Date().timeIntervalSince1970)
    let model: String
    let fingerprint = "cria"

    init(id: String, served: ServedModel) {
        self.id = id
        model = served.alias
    }

    static func randomID() -> String {
        let chars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<24).map { _ in chars.randomElement()! })
    }

    func chatChunk(_ delta: ChatDeltaJSON, finish: String? = nil, logprobs: ChatLogprobsJSON? = nil) -> ChatCompletionChunkJSON {
        ChatCompletionChunkJSON(id: id, created: created, model: model, system_fingerprint: fingerprint,
                                choices: [ChatChunkChoiceJSON(delta: delta, finish_reason: finish, logprobs: logprobs)])
    }

    func textChunk(_ text: String, index: Int = 0, finish: String? = nil,
                   logprobs: CompletionLogprobsJSON? = nil) -> TextCompletionJSON {
        TextCompletionJSON(id: id, created: created, model: model, system_fingerprint: fingerprint,
                           choices: [TextChoiceJSON(text: text, index: index, logprobs: logprobs, finish_reason: finish)])
    }
}
