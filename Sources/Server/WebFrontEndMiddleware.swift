import Hummingbird
import WebUI

/// The built-in web front end, which llama-server embeds in its binary: GET / (and /index.html),
/// GET /completion.js and the page's modules under /ui/ (WebUI.WebAssets). It answers only when
/// nothing else did (no route, no `--path` file), so a `--path` folder replaces these files one
/// by one, as in llama-server.
struct WebFrontEndMiddleware: RouterMiddleware {
    typealias Context = AppContext

    /// URL path → (body, Content-Type), made into buffers once.
    static let assets: [String: (body: ByteBuffer, type: String)] = WebAssets.byPath.mapValues {
        (ByteBuffer(bytes: $0.bytes), $0.contentType)
    }

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
        // The files change with the binary: a browser revalidates instead of running an old page.
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.body))
    }
}
