import Foundation
import Hummingbird

/// `--cors-origins`, `--cors-methods`, `--cors-headers`, `--cors-credentials`.
public struct CORSPolicy: Sendable {
    /// `*` (any origin), `localhost` (only local origins, reflected) or one literal origin.
    public var origins = "*"
    public var methods = "GET, POST, DELETE, OPTIONS"
    public var headers = "*"
    public var credentials = true

    public init(origins: String = "*", methods: String = "GET, POST, DELETE, OPTIONS", headers: String = "*",
                credentials: Bool = true) {
        self.origins = origins
        self.methods = methods
        self.headers = headers
        self.credentials = credentials
    }

    /// The Access-Control-Allow-Origin value for a request from `origin`, or nil for none.
    func allowedOrigin(for origin: String?) -> String? {
        switch origins {
        case "*" where credentials:
            // A wildcard may not carry credentials, so browsers need their own origin echoed.
            return origin ?? ""
        case "localhost":
            guard let origin, Self.isLocal(origin) else { return nil }
            return origin
        case let list where list.contains(","):
            // The flag's help calls it a list, but a browser accepts one origin per response
            // (llama-server sends the list as is, which no browser accepts): echo the request's
            // origin when it is listed.
            let listed = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let origin, listed.contains(origin) else { return nil }
            return origin
        default:
            return origins
        }
    }

    /// Whether the allowed origin depends on the request's `Origin` (caches must then keep one
    /// response per origin: `Vary: Origin`).
    var reflectsOrigin: Bool { (origins == "*" && credentials) || origins == "localhost" || origins.contains(",") }

    /// Whether an origin URL names this machine (localhost, 127.0.0.1 or [::1], any port).
    static func isLocal(_ origin: String) -> Bool {
        guard let host = URLComponents(string: origin)?.host else { return false }
        return ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host)
    }
}

/// Adds CORS headers to every response and answers preflight OPTIONS requests itself, before
/// the API key check (browsers send preflights without credentials), as llama-server does.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let policy: CORSPolicy

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let allowed = policy.allowedOrigin(for: request.headers[.origin])
        if request.method == .options {
            var headers = HTTPFields()
            addOriginHeaders(to: &headers, allowed: allowed)
            headers[.accessControlAllowCredentials] = policy.credentials ? "true" : "false"
            headers[.accessControlAllowMethods] = policy.methods
            headers[.accessControlAllowHeaders] = policy.headers
            headers[.contentType] = "text/html"
            return Response(status: .ok, headers: headers)
        }
        do {
            var response = try await next(request, context)
            addOriginHeaders(to: &response.headers, allowed: allowed)
            return response
        } catch let error as HTTPResponseError {
            var response = try error.response(from: request, context: context)
            addOriginHeaders(to: &response.headers, allowed: allowed)
            return response
        }
    }

    private func addOriginHeaders(to headers: inout HTTPFields, allowed: String?) {
        if let allowed { headers[.accessControlAllowOrigin] = allowed }
        if policy.reflectsOrigin { headers[.vary] = "Origin" }
    }
}
