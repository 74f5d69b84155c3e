import Hummingbird
import JSON
import Serving

/// GET /lora-adapters (id, path, scale of every adapter loaded with `--lora`) and POST
/// /lora-adapters (a list of {id, scale}: the scales of requests without their own `lora`).
struct LoraController {
    let host: ModelHost

    func addRoutes(to router: Router<AppContext>) {
        router.get("/lora-adapters") { _, _ in try await list() }
        router.post("/lora-adapters") { request, context in try await update(request, context: context) }
    }

    struct Entry: Encodable {
        var id: Int
        var path: String
        var scale: Float
    }

    func list() async throws -> Response {
        let served = try await host.served()
        return try JSONResponse.make(served.engine.loraAdapters.map { Entry(id: $0.id, path: $0.path, scale: $0.scale) })
    }

    func update(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        guard let text = String(validating: Array(buffer.readableBytesView), as: UTF8.self) else {
            throw APIError.badRequest("The request body is not valid UTF-8")
        }
        let body: JSONValue
        do { body = try JSONValue.parse(text) } catch {
            throw APIError.badRequest("Invalid JSON in request body: \(error.description)")
        }
        guard body.arrayValue != nil else { throw APIError.badRequest("Request body must be an array") }
        let scales = try LoraScales.parse(body, adapterCount: served.engine.model.adapters.count, field: "POST /lora-adapters")
        served.engine.setDefaultAdapterScales(scales)
        struct OK: Encodable { var success = true }
        return try JSONResponse.make(OK())
    }
}
