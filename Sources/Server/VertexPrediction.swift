import Foundation
import Hummingbird
import HTTPTypes
import JSON
import NIOCore

/// Google Cloud Vertex AI's custom-container protocol, as today's llama-server serves it when
/// the container runs with `AIP_MODE=PREDICTION`: the server listens on `AIP_HTTP_PORT`, answers
/// health checks on `AIP_HEALTH_ROUTE` too, and `POST AIP_PREDICT_ROUTE` (default `/predict`)
/// takes `{"instances": [...]}`, each instance a request for one of the other routes named by its
/// `@requestFormat` (a route's camelCase name such as `chatCompletions`, or its path), and
/// answers `{"predictions": [...]}`: each route's JSON answer, or its error object.
public struct VertexAIConfiguration: Sendable, Equatable {
    public var predictRoute = "/predict"
    public var healthRoute: String?
    public var port: Int?

    /// Whether the predict route is one of the server's own routes (llama-server refuses to start).
    public var predictRouteIsTaken: Bool { VertexPredictionController.routes.contains { $0.path == predictRoute } }

    /// From the AIP_ variables; nil unless `AIP_MODE` is `PREDICTION`.
    public static func fromEnvironment(_ environment: [String: String]) throws(APIError) -> VertexAIConfiguration? {
        guard environment["AIP_MODE"] == "PREDICTION" else { return nil }
        var configuration = VertexAIConfiguration()
        func route(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value.hasPrefix("/") ? value : "/" + value
        }
        if let predict = route("AIP_PREDICT_ROUTE") { configuration.predictRoute = predict }
        configuration.healthRoute = route("AIP_HEALTH_ROUTE")
        if let text = environment["AIP_HTTP_PORT"], !text.isEmpty {
            guard let port = Int(text), (1...65535).contains(port) else {
                throw .badRequest("AIP_HTTP_PORT must be a port number between 1 and 65535, got '\(text)'")
            }
            configuration.port = port
        }
        return configuration
    }
}

/// The predict route: runs each instance through the router as a request of its own (with the
/// outer request's headers, so an API key applies to each), at the same time, and gathers the
/// answers in order.
struct VertexPredictionController {
    let configuration: VertexAIConfiguration
    /// The router's responder, set once every route is added.
    let responder: ResponderBox

    /// At most this many instances per request (llama-server's limit).
    static let maxInstances = 128

    /// The routes an instance may name, and the method it is sent with.
    static let routes: [(path: String, method: HTTPRequest.Method)] = [
        "/completion", "/completions", "/infill", "/embedding", "/embeddings", "/v1/embeddings", "/v1/chat/completions",
        "/chat/completions", "/v1/chat/completions/input_tokens", "/chat/completions/input_tokens", "/v1/completions",
        "/apply-template", "/tokenize", "/detokenize", "/rerank", "/reranking", "/v1/rerank", "/v1/reranking",
        "/v1/responses", "/responses", "/v1/responses/input_tokens", "/responses/input_tokens", "/v1/messages",
        "/v1/messages/count_tokens", "/props", "/lora-adapters",
    ].map { ($0, .post) } + ["/health", "/v1/health", "/metrics", "/v1/models", "/models", "/slots"].map { ($0, .get) }

    /// A route's `@requestFormat` name, as llama-server derives it: the path without `/v1` and
    /// its leading slash, in camelCase at `/`, `-` and `_` (`/v1/chat/completions` is
    /// `chatCompletions`, `/apply-template` `applyTemplate`).
    static func formatName(_ path: String) -> String {
        var rest = Substring(path)
        if rest.hasPrefix("/v1/") { rest = rest.dropFirst(3) }
        if rest.hasPrefix("/") { rest = rest.dropFirst() }
        var name = "", upper = false
        for c in rest {
            if c == "/" || c == "-" || c == "_" { upper = true; continue }
            name += upper ? c.uppercased() : String(c)
            upper = false
        }
        return name
    }

    /// The route an instance names: a format name (the first route with it wins) or a path.
    static func route(named format: String) -> (path: String, method: HTTPRequest.Method)? {
        routes.first { formatName($0.path) == format } ?? routes.first { $0.path == format }
    }

    func addRoutes(to router: Router<AppContext>) {
        router.post(RouterPath(configuration.predictRoute)) { request, context in try await predict(request, context: context) }
    }

    func predict(_ request: Request, context: AppContext) async throws -> Response {
        var outer = request
        let fields = try await outer.jsonFields(context: context)
        guard let instances = try fields.array("instances") else {
            throw APIError.badRequest("The request body must include an array field named 'instances'")
        }
        guard instances.count <= Self.maxInstances else {
            throw APIError.badRequest("'instances' has \(instances.count) entries; at most \(Self.maxInstances) are allowed")
        }
        guard let responder = responder.value else { throw APIError(.serviceUnavailable, .unavailable, "Starting") }
        let headers = request.headers
        let predictions = await withTaskGroup(of: (Int, JSONValue).self) { group in
            for (i, instance) in instances.enumerated() {
                group.addTask { (i, await Self.run(instance, responder: responder, headers: headers, context: context)) }
            }
            var predictions = [JSONValue](repeating: .null, count: instances.count)
            for await (i, prediction) in group { predictions[i] = prediction }
            return predictions
        }
        let body: JSONValue = .object([("predictions", .array(predictions))])
        return JSONResponse.make(encoded: Data(body.serialized().utf8))
    }

    /// One instance's answer: the route's JSON, or an `{"error": …}` object.
    private static func run(_ instance: JSONValue, responder: RouterResponder<AppContext>, headers: HTTPFields,
                            context: AppContext) async -> JSONValue {
        func failure(_ error: APIError) -> JSONValue {
            let d = error.body.error
            return .object([("error", .object([("code", .int(d.code)), ("message", .string(d.message)), ("type", .string(d.type))]))])
        }
        guard var members = instance.objectMembers else { return failure(.badRequest("Each instance must be a JSON object")) }
        guard let format = instance["@requestFormat"]?.stringValue else {
            return failure(.badRequest("Each instance must include a string '@requestFormat'"))
        }
        guard let route = route(named: format) else {
            return failure(.badRequest("No route for @requestFormat '\(format)'"))
        }
        // The predict route answers once per instance: no streams (as llama-server).
        members.removeAll { $0.key == "@requestFormat" || $0.key == "stream" }
        var head = HTTPRequest(method: route.method, scheme: nil, authority: nil, path: route.path)
        head.headerFields = headers
        head.headerFields[.contentLength] = nil
        head.headerFields[.transferEncoding] = nil
        head.headerFields[.contentType] = "application/json"
        let body = Data(JSONValue.object(members).serialized().utf8)
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body)))
        do {
            let response = try await responder.respond(to: request, context: context)
            let collected = CollectedBody()
            try await response.body.write(collected)
            let bytes = collected.store.bytes
            guard !bytes.isEmpty else { return .null }
            if let value = try? JSONValue.parse(utf8: bytes) { return value }
            return .string(String(decoding: bytes, as: UTF8.self))
        } catch let error as APIError {
            return failure(error)
        } catch let error as HTTPResponseError {
            return failure(APIError(error.status, error.status.code >= 500 ? .server : .invalidRequest, "\(error)"))
        } catch {
            return failure(APIError(.internalServerError, .server, "\(error)"))
        }
    }
}

/// The router's responder, known only once every route is added.
final class ResponderBox: @unchecked Sendable {
    private let lock = NSLock()
    private var responder: RouterResponder<AppContext>?

    var value: RouterResponder<AppContext>? {
        get { lock.withLock { responder } }
        set { lock.withLock { responder = newValue } }
    }
}

/// A response body gathered in memory (a route's answer to one instance). The writer is
/// consumed by the body it is given to, so the bytes live in a box the caller keeps.
private struct CollectedBody: ResponseBodyWriter {
    final class Store { var bytes: [UInt8] = [] }
    let store = Store()

    mutating func write(_ buffer: ByteBuffer) async throws { store.bytes += buffer.readableBytesView }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
