import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage, the client's address and our body size limit.
public struct AppContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client, for request log lines.
    public let remoteAddress: SocketAddress?
    /// The client's connection, where `ConnectionWatch` reports a disconnect.
    let channel: any Channel
    /// Set by `buildApplication` from `ServerConfiguration.maxBodyBytes`.
    nonisolated(unsafe) static var bodyLimit = 8 << 20
    /// Set by `buildApplication` from `ServerConfiguration.timeoutSeconds` (`-to`): how long one
    /// write of a streamed response may wait for a client that does not read.
    nonisolated(unsafe) static var writeTimeout = Duration.seconds(600)

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    public var maxUploadSize: Int { Self.bodyLimit }
}

extension Request {
    /// Reads the whole body (keeping the inbound stream usable for disconnect detection) and
    /// parses it as a JSON object. Oversize bodies are a 413, bad JSON a 400, both OpenAI-shaped.
    mutating func jsonFields(context: AppContext) async throws -> JSONFields {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: context.maxUploadSize)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            // NIOTooManyBytesError (and HTTPError 413) would answer with an empty body.
            throw APIError(.contentTooLarge, .invalidRequest,
                           "The request body is larger than the limit of \(context.maxUploadSize) bytes")
        }
        return try JSONFields(body: Array(buffer.readableBytesView))
    }
}
