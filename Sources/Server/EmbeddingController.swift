import Foundation
import JSON
import Hummingbird
import Serving

/// POST /embedding (native) and POST /v1/embeddings (OpenAI), with `--embedding`.
///
/// Both return L2-normalized pooled vectors, as llama-server did at the spec's commit (its
/// `send_embedding` normalized every result, like the embedding example the spec points to).
/// With `--pooling none` (a later llama-server option) /embedding returns every token's raw
/// hidden state instead, and /v1/embeddings refuses, since one vector per input is its contract.
struct EmbeddingController {
    let host: ModelHost
    let enabled: Bool

    func addRoutes(to router: Router<AppContext>) {
        router.post("/embedding") { request, context in try await native(request, context: context) }
        router.post("/embeddings") { request, context in try await native(request, context: context) }
        router.post("/v1/embeddings") { request, context in try await openAI(request, context: context) }
    }

    private func check() async throws -> ServedModel {
        guard enabled else { throw APIError.notSupported("This server does not support embeddings. Start it with `--embedding`") }
        return try await host.served()
    }

    struct Native: Encodable { var embedding: [Float] }
    struct NativePerToken: Encodable { var embedding: [[Float]] }

    func native(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await check()
        var request = request
        let fields = try await request.jsonFields(context: context)
        guard let content = fields["content"] ?? fields["input"] else { throw APIError.badRequest("Missing required field 'content'") }
        if let images = try fields.array("image_data"), !images.isEmpty {
            throw APIError.badRequest("image_data is not supported: this server has no multimodal projector")
        }
        let tokens = try PromptTokenizer(tokenizer: served.tokenizer, hasSystemPrompt: false).tokens(content, field: "content").tokens
        let vectors = try await context.whileConnected { try await embed(served, tokens, $0) }
        if served.engine.configuration.pooling == .none { return try JSONResponse.make(NativePerToken(embedding: vectors)) }
        return try JSONResponse.make(Native(embedding: Self.normalized(vectors[0])))
    }

    /// An OpenAI embedding: floats, or (`encoding_format: "base64"`, the openai clients' default)
    /// the little-endian float32 bytes in base64.
    enum Vector: Encodable {
        case floats([Float])
        case base64(String)

        init(_ v: [Float], base64: Bool) {
            guard base64 else { self = .floats(v); return }
            var bytes = [UInt8]()
            bytes.reserveCapacity(v.count * 4)
            for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
            self = .base64(Data(bytes).base64EncodedString())
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .floats(let v): try c.encode(v)
            case .base64(let s): try c.encode(s)
            }
        }
    }

    struct Item: Encodable { var object = "embedding"; var index: Int; var embedding: Vector }
    struct List: Encodable {
        struct Usage: Encodable { var prompt_tokens: Int; var total_tokens: Int }
        var object = "list"; var model: String; var data: [Item]; var usage: Usage
    }

    func openAI(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await check()
        guard served.engine.configuration.pooling != .none else {
            throw APIError.badRequest("Pooling type 'none' is not OpenAI-compatible; use /embedding")
        }
        var request = request
        let fields = try await request.jsonFields(context: context)
        let format = try fields.string("encoding_format") ?? "float"
        guard format == "float" || format == "base64" else {
            throw APIError.badRequest("Unsupported encoding_format '\(format)': expected 'float' or 'base64'")
        }
        guard let input = fields["input"] ?? fields["content"] else { throw APIError.badRequest("Missing required field 'input'") }
        // A string, an array of token ids (one input), or an array of strings / token arrays (many).
        var inputs: [JSONValue]
        switch input {
        case .string: inputs = [input]
        case .array(let items) where items.allSatisfy({ if case .number = $0 { true } else { false } }) && !items.isEmpty:
            inputs = [input]
        case .array(let items): inputs = items
        default: throw JSONFields.typeError("input", "a string or an array")
        }
        guard !inputs.isEmpty else { throw APIError.badRequest("'input' must not be empty") }
        let tokenizer = PromptTokenizer(tokenizer: served.tokenizer, hasSystemPrompt: false)
        var data: [Item] = []
        var promptTokens = 0
        try await context.whileConnected { presence in
            for (i, item) in inputs.enumerated() {
                let tokens = try tokenizer.tokens(item, field: "input").tokens
                promptTokens += tokens.count
                let vector = try await embed(served, tokens, presence)[0]
                data.append(Item(index: i, embedding: Vector(Self.normalized(vector), base64: format == "base64")))
            }
        }
        return try JSONResponse.make(List(model: served.alias, data: data,
                                          usage: .init(prompt_tokens: promptTokens, total_tokens: promptTokens)))
    }

    /// One input's vectors; a client gone meanwhile ends the request (logged as 499).
    private func embed(_ served: ServedModel, _ tokens: [Int32], _ presence: ClientPresence) async throws -> [[Float]] {
        if presence.isGone { throw CancellationError() }
        do throws(EngineError) { return try await served.engine.embed(tokens, isCancelled: { presence.isGone }) } catch {
            if error == .cancelled { throw CancellationError() }
            throw APIError.from(error)
        }
    }

    /// v / ‖v‖₂ (unchanged when the norm is 0).
    static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        return norm > 0 ? v.map { Float(Double($0) / norm) } : v
    }
}
