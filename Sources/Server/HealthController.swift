import Hummingbird
import Serving

/// GET /health (also /v1/health, as today): loading (503), error (500), ok / no slot available (200, or 503 with
/// `fail_on_no_slot`), with `slots` when `include_slots` is given and /slots is enabled.
struct HealthController {
    let host: ModelHost
    let slotsEnabled: Bool

    func addRoutes(to router: Router<AppContext>) {
        for path in ["/health", "/v1/health"] {
            router.get(RouterPath(path)) { request, _ in try health(request) }
        }
    }

    struct Body: Encodable {
        var status: String
        var slots_idle: Int?
        var slots_processing: Int?
        var slots: [SlotJSON]?
    }

    func health(_ request: Request) throws -> Response {
        switch host.state {
        case .loading: return try JSONResponse.make(Body(status: "loading model"), status: .serviceUnavailable)
        case .failed: return try JSONResponse.make(Body(status: "error"), status: .internalServerError)
        case .noModel, .sleeping: return try JSONResponse.make(Body(status: "ok"))
        case .ready(let served):
            let status = served.engine.status()
            let query = request.uri.queryParameters
            var body = Body(status: status.idleCount > 0 ? "ok" : "no slot available",
                            slots_idle: status.idleCount, slots_processing: status.processingCount)
            if query["include_slots"] != nil && slotsEnabled {
                body.slots = status.slots.map { SlotJSON($0, served: served) }
            }
            let failing = status.idleCount == 0 && query["fail_on_no_slot"] != nil
            return try JSONResponse.make(body, status: failing ? .serviceUnavailable : .ok)
        }
    }
}
