import Foundation
import Hummingbird
import Serving

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
        event(encoded: try JSONResponse.encode(value))
    }

    /// An event of JSON text already encoded.
    static func event(encoded data: Data) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }

    /// A named event (`event: <name>` before its data), as Anthropic's stream sends every event.
    static func event(named name: String, encoded data: Data) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(name)\n")
        var body = event(encoded: data)
        buffer.writeBuffer(&body)
        return buffer
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// A streaming response; `produce` writes `handle`'s events. A client that disconnects
    /// cancels `handle` (its event stream then ends), and the connection stays open otherwise.
    /// A client that stops reading for the write timeout (`-to`) is treated as gone: its
    /// connection is closed, which frees the slot and the events piling up for it.
    static func response(context: AppContext, handle: GenerationHandle,
                         _ produce: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        response(context: context, handles: [handle], produce)
    }

    /// As above, for a stream of several generations (several prompts): all are cancelled together.
    static func response(context: AppContext, handles: [GenerationHandle],
                         _ produce: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let watch = StalledWriteWatch(timeout: AppContext.writeTimeout, channel: context.channel, handles: handles)
            defer { watch.stop() }
            var writer: any ResponseBodyWriter = StallWatchedWriter(base: writer, watch: watch)
            do {
                try await context.cancellingOnDisconnect(handles) { try await produce(&writer) }
            } catch {
                // The client went away mid-stream: nothing more can be written to it.
                for handle in handles { handle.cancel() }
                return
            }
            try await writer.finish(nil)
        })
    }
}
