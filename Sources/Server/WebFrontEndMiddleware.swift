import Hummingbird

/// The built-in web front end, which llama-server embeds in its binary: GET / (and /index.html)
/// and GET /completion.js. It answers only when nothing else did (no route, no `--path` file),
/// so a `--path` folder replaces these files one by one, as in llama-server.
struct WebFrontEndMiddleware: RouterMiddleware {
    typealias Context = AppContext

    static let assets: [String: (body: String, type: String)] = [
        "/": (WebPage.html, "text/html; charset=utf-8"),
        "/index.html": (WebPage.html, "text/html; charset=utf-8"),
        "/completion.js": (CompletionScript.source, "text/javascript; charset=utf-8"),
    ]

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head, let asset = Self.assets[request.uri.path] else {
            return try await next(request, context)
        }
        do {
            let response = try await next(request, context)
            if response.status != .notFound { return response }
        } catch let error as HTTPResponseError where error.status == .notFound {
            // No route and no --path file: fall through to the built-in asset.
        }
        var headers = HTTPFields()
        headers[.contentType] = asset.type
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: asset.body)))
    }
}
