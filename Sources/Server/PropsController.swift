import Hummingbird
import Serving

/// GET /props: system prompt names, default generation settings, slot count.
/// POST /props sets the system prompt (`{"system_prompt": {...}}`).
struct PropsController {
    let host: ModelHost
    let configuration: ServerConfiguration

    func addRoutes(to router: Router<AppContext>) {
        router.get("/props") { _, _ in try await props() }
        router.post("/props") { request, context in try await update(request, context: context) }
    }

    /// The spec's fields, then today's llama-server additions (which extend, never replace them).
    struct Props: Encodable {
        var system_prompt: String
        var assistant_name: String
        var user_name: String
        var default_generation_settings: DefaultSettings
        var total_slots: Int
        var chat_template: String
        var model_path: String
        var model_alias: String
        var modalities: [String: Bool]
        var endpoint_slots: Bool
        var endpoint_props: Bool
        var endpoint_metrics: Bool
        var ui: Bool
        var bos_token: String
        var eos_token: String
        var build_info: String
        var is_sleeping: Bool
    }

    /// The spec lists the settings flat; today's llama-server nests them under `params` next to
    /// `n_ctx`. Both are given, so clients of either read what they expect.
    struct DefaultSettings: Encodable {
        var settings: GenerationSettings

        func encode(to encoder: Encoder) throws {
            try settings.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(settings, forKey: .params)
        }
        enum Keys: CodingKey { case params }
    }

    func props() async throws -> Response {
        // Reading the props does not wake a sleeping model (as llama-server).
        if case .sleeping(let snapshot) = host.state { return JSONResponse.make(encoded: snapshot.props) }
        return try JSONResponse.make(body(try await host.served(), sleeping: false))
    }

    /// GET /props of `served`.
    func body(_ served: ServedModel, sleeping: Bool) -> Props {
        let system = served.engine.systemPrompt
        let defaults = GenerationRequest(promptTokens: [], sampling: served.samplingDefaults,
                                         predictLimit: served.engine.configuration.defaultPredictLimit,
                                         keepCount: served.engine.configuration.defaultKeepCount)
        let vocabulary = served.tokenizer.vocabulary
        return Props(
            system_prompt: system.prompt, assistant_name: system.assistantName, user_name: system.antiPrompt,
            default_generation_settings: DefaultSettings(settings: GenerationSettings(
                request: defaults, contextSize: served.engine.slotContextSize, model: served.alias,
                tokenize: served.penaltyTokens)),
            total_slots: served.engine.configuration.slotCount, chat_template: served.chatTemplate.source,
            model_path: served.modelPath, model_alias: served.alias,
            modalities: ["vision": false, "video": false, "audio": false],
            endpoint_slots: configuration.slotsEndpointEnabled, endpoint_props: true,
            endpoint_metrics: configuration.metricsEnabled, ui: configuration.webUIEnabled,
            bos_token: served.tokenText(vocabulary.bos), eos_token: served.tokenText(vocabulary.eos),
            build_info: "cria", is_sleeping: sleeping)
    }

    func update(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        guard let sp = try fields.object("system_prompt") else {
            throw APIError.badRequest("POST /props accepts {\"system_prompt\": {\"prompt\", \"anti_prompt\", \"assistant_name\"}}")
        }
        served.engine.setSystemPrompt(SystemPrompt(prompt: try sp.string("prompt") ?? "",
                                                   antiPrompt: try sp.string("anti_prompt") ?? "",
                                                   assistantName: try sp.string("assistant_name") ?? ""))
        struct OK: Encodable { var success = true }
        return try JSONResponse.make(OK())
    }
}
