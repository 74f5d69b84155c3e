import Foundation
import Hummingbird

/// An error answered in the OpenAI shape: `{"error": {"code", "message", "type"}}`.
public struct APIError: Error, HTTPResponseError, Equatable, CustomStringConvertible {
    /// OpenAI error types, plus llama-server's own.
    public enum Kind: String, Sendable {
        case invalidRequest = "invalid_request_error"
        case authentication = "authentication_error"
        case notFound = "not_found_error"
        case server = "server_error"
        case permission = "permission_error"
        case unavailable = "unavailable_error"
        case notSupported = "not_supported_error"
        case exceedContextSize = "exceed_context_size_error"
    }

    public let status: HTTPResponse.Status
    public let kind: Kind
    public let message: String
    /// For `exceed_context_size_error`: the prompt's tokens and a slot's context, which today's
    /// llama-server adds to the error object.
    public var promptTokens: Int?
    public var contextSize: Int?

    public init(_ status: HTTPResponse.Status, _ kind: Kind, _ message: String) {
        self.status = status
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(status.code) \(kind.rawValue): \(message)" }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, .invalidRequest, message) }
    public static func notSupported(_ message: String) -> APIError { APIError(.notImplemented, .notSupported, message) }
    public static let invalidAPIKey = APIError(.unauthorized, .authentication, "Invalid API Key")
    public static let loading = APIError(.serviceUnavailable, .unavailable, "Loading model")

    /// The JSON body.
    public var body: ErrorBody {
        ErrorBody(error: .init(code: Int(status.code), message: message, type: kind.rawValue,
                               n_prompt_tokens: promptTokens, n_ctx: contextSize))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSONResponse.make(body, status: status)
    }

    /// `{"error": {...}}`.
    public struct ErrorBody: Codable, Equatable, Sendable {
        public struct Detail: Codable, Equatable, Sendable {
            public var code: Int
            public var message: String
            public var type: String
            public var n_prompt_tokens: Int?
            public var n_ctx: Int?
        }
        public var error: Detail
    }
}

/// JSON responses with the server's encoder settings.
enum JSONResponse {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        make(encoded: try encode(value), status: status)
    }

    /// A response of JSON text already encoded.
    static func make(encoded data: Data, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
