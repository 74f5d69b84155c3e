import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of the configured keys, except for
/// /health and static files (as llama-server).
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let keys: Set<String>
    /// Paths that stay open.
    let publicPaths: Set<String> = ["/health"]
    /// API routes (and, for the last ones, everything under them); any other path is a static
    /// file and stays open, so the web front end (`/`, `/completion.js`) loads without a key.
    static let apiRoutes: Set<String> = ["/completion", "/completions", "/tokenize", "/detokenize", "/embedding",
                                         "/embeddings", "/infill", "/props", "/apply-template", "/chat/completions",
                                         "/models", "/metrics", "/slots", "/rerank", "/reranking", "/v1"]

    static func isAPI(_ path: String) -> Bool {
        apiRoutes.contains(path) || apiRoutes.contains { path.hasPrefix($0 + "/") }
    }

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if keys.isEmpty || publicPaths.contains(path) || !Self.isAPI(path) || request.method == .options {
            return try await next(request, context)
        }
        // As llama-server: `Authorization: Bearer KEY`, else Anthropic's `X-Api-Key: KEY`.
        var key = request.headers[.authorization] ?? request.headers.first(where: { $0.name.canonicalName == "x-api-key" })?.value ?? ""
        if key.hasPrefix("Bearer ") { key = String(key.dropFirst("Bearer ".count)) }
        guard keys.contains(key) else { throw APIError.invalidAPIKey }
        return try await next(request, context)
    }
}

/// Turns Hummingbird's plain errors (404, 405, 413, …) into OpenAI-shaped error bodies.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = AppContext

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            if response.status == .notFound && response.headers[.contentType] == nil {
                throw APIError(.notFound, .notFound, "File Not Found")
            }
            return response
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let kind: APIError.Kind = error.status == .notFound ? .notFound : .invalidRequest
            throw APIError(error.status, kind, error.body ?? error.status.reasonPhrase)
        }
    }
}

/// Logs one line per request once its response is known (llama-server's "request" lines):
/// client address, status, method, path and query parameters.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let log: ServerLog

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            write(request, context: context, status: response.status.code)
            return response
        } catch let error as HTTPResponseError {
            write(request, context: context, status: error.status.code)
            throw error
        } catch {
            write(request, context: context, status: 500)
            throw error
        }
    }

    private func write(_ request: Request, context: AppContext, status: Int) {
        var fields = ["status": "\(status)", "method": request.method.rawValue, "path": request.uri.path,
                      "params": request.uri.query ?? ""]
        if let address = context.remoteAddress {
            fields["remote_addr"] = address.ipAddress ?? ""
            fields["remote_port"] = address.port.map(String.init) ?? ""
        }
        log.info("request", fields)
    }
}
