import Foundation
import Hummingbird

/// Requires an API key (`Authorization: Bearer KEY`, or `X-Api-Key: KEY`) on every request
/// except those llama-server leaves open: CORS preflights, `/health` and `/v1/health`, and the
/// web front end's own files. Cria also leaves `--path` static files open (llama-server opens
/// only `/` there), so a browser can load a custom front end, which cannot send a key with a
/// plain page load.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let keys: Set<String>
    /// `--path`: files under this folder stay open.
    var staticRoot: String?
    /// Vertex AI's health route (`AIP_HEALTH_ROUTE`): its health checks send no key.
    var healthAlias: String?

    /// Paths that never need a key (llama-server's public endpoints).
    static let publicPaths: Set<String> = ["/health", "/v1/health"]

    /// Whether a request may pass without a key.
    func isOpen(method: HTTPRequest.Method, path: String) -> Bool {
        if method == .options || Self.publicPaths.contains(path) || path == healthAlias { return true }
        guard method == .get || method == .head else { return false }
        if WebFrontEndMiddleware.assets[path] != nil { return true }
        return staticRoot.map { Self.isFile(path, under: $0) } ?? false
    }

    /// Whether `path` names a file (or a folder with an index.html) under `root`; paths that
    /// climb out with `..` never do.
    static func isFile(_ path: String, under root: String) -> Bool {
        let parts = path.split(separator: "/")
        guard !parts.contains(where: { $0 == ".." || $0 == "." }) else { return false }
        let full = ([root] + parts.map(String.init)).joined(separator: "/")
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isFolder) else { return false }
        return !isFolder.boolValue || FileManager.default.fileExists(atPath: full + "/index.html")
    }

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        if isOpen(method: request.method, path: request.uri.path) { return try await next(request, context) }
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

/// Logs one line per request once its response has been written (llama-server's "request"
/// lines): client address, status, method, path, query parameters, and `duration_ms` from the
/// request's arrival to the last byte of its response (a stream's whole length).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let log: ServerLog

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            var response = try await next(request, context)
            let body = response.body
            let status = response.status.code
            response.body = ResponseBody(contentLength: body.contentLength) { [log] writer in
                defer { Self.write(log, request, context: context, status: status, since: start) }
                try await body.write(writer)
            }
            return response
        } catch let error as HTTPResponseError {
            Self.write(log, request, context: context, status: error.status.code, since: start)
            throw error
        } catch is CancellationError {
            // The client went away before its answer was ready (nginx's 499): nothing was sent,
            // and it is no server error.
            Self.write(log, request, context: context, status: 499, since: start)
            throw CancellationError()
        } catch {
            Self.write(log, request, context: context, status: 500, since: start)
            throw error
        }
    }

    private static func write(_ log: ServerLog, _ request: Request, context: AppContext, status: Int,
                              since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
        var fields = ["status": "\(status)", "method": request.method.rawValue, "path": request.uri.path,
                      "params": request.uri.query ?? "", "duration_ms": String(format: "%.1f", milliseconds)]
        if let address = context.remoteAddress {
            fields["remote_addr"] = address.ipAddress ?? ""
            fields["remote_port"] = address.port.map(String.init) ?? ""
        }
        log.info("request", fields)
    }
}
