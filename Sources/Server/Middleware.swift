import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of the configured keys, except for
/// /health and static files (as llama-server).
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let keys: Set<String>
    /// Paths that stay open.
    let publicPaths: Set<String> = ["/health"]
    /// Prefixes of API routes; anything else is a static file and stays open.
    static let apiPrefixes = ["/completion", "/tokenize", "/detokenize", "/embedding", "/infill", "/props", "/slots",
                              "/metrics", "/v1/", "/apply-template", "/health"]

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let isAPI = Self.apiPrefixes.contains { path.hasPrefix($0) }
        if keys.isEmpty || publicPaths.contains(path) || !isAPI || request.method == .options {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              keys.contains(String(header.dropFirst("Bearer ".count))) else {
            throw APIError.invalidAPIKey
        }
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
