import Hummingbird
import Serving

/// GET /props: system prompt names, default generation settings, slot count.
/// POST /props sets the system prompt (`{"system_prompt": {...}}`).
struct PropsController {
    let host: ModelHost

    func addRoutes(to router: Router<AppContext>) {
        router.get("/props") { _, _ in try props() }
        router.post("/props") { request, context in try await update(request, context: context) }
    }

    struct Props: Encodable {
        var system_prompt: String
        var assistant_name: String
        var user_name: String
        var default_generation_settings: GenerationSettings
        var total_slots: Int
        var chat_template: String
        var model_path: String
    }

    func props() throws -> Response {
        let served = try host.served()
        let system = served.engine.systemPrompt
        return try JSONResponse.make(Props(
            system_prompt: system.prompt, assistant_name: system.assistantName, user_name: system.antiPrompt,
            default_generation_settings: GenerationSettings(request: GenerationRequest(promptTokens: []),
                                                            contextSize: served.engine.slotContextSize, model: served.alias),
            total_slots: served.engine.configuration.slotCount, chat_template: served.chatTemplate.source,
            model_path: served.modelPath))
    }

    func update(_ request: Request, context: AppContext) async throws -> Response {
        let served = try host.served()
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
