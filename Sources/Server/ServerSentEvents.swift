import Foundation
import Hummingbird

/// `text/event-stream` responses whose producer is cancelled when the client disconnects.
enum ServerSentEvents {
    static var headers: HTTPFields {
        var h = HTTPFields()
        h[.contentType] = "text/event-stream"
        h[.cacheControl] = "no-cache"
        h[.connection] = "keep-alive"
        return h
    }

    /// One `data: <json>` event.
    static func event(_ value: some Encodable) throws -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(try JSONResponse.encode(value))
        buffer.writeString("\n\n")
        return buffer
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// A streaming response; `produce` writes events and is cancelled on client disconnect.
    /// `request` must have had its body collected with the mutating `collectBody`.
    static func response(for request: Request,
                         _ produce: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var writer: any ResponseBodyWriter = writer
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await produce(&writer)
                }
            } catch is CancellationError {
                return
            }
            try await writer.finish(nil)
        })
    }
}
