import Hummingbird

/// POST /tokenize (never adds BOS) and POST /detokenize.
struct TokenizeController {
    let host: ModelHost

    func addRoutes(to router: Router<AppContext>) {
        router.post("/tokenize") { request, context in try await tokenize(request, context: context) }
        router.post("/detokenize") { request, context in try await detokenize(request, context: context) }
    }

    struct Tokens: Encodable { var tokens: [Int32] }
    struct Content: Encodable { var content: String }
    enum PieceText: Encodable {
        case text(String)
        case bytes([UInt8])
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .text(let s): try c.encode(s)
            case .bytes(let b): try c.encode(b)
            }
        }
    }
    struct Piece: Encodable { var id: Int32; var piece: PieceText }
    struct PieceList: Encodable { var tokens: [Piece] }

    func tokenize(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        guard let content = try fields.string("content") else { throw APIError.badRequest("Missing required field 'content'") }
        let special = try fields.bool("add_special") ?? false
        let tokens = served.tokenizer.tokenize(content, addSpecial: special, parseSpecial: true)
        guard try fields.bool("with_pieces") == true else { return try JSONResponse.make(Tokens(tokens: tokens)) }
        // Today's llama-server: each token with its text, or its bytes where they are not UTF-8 on their own.
        let pieces = tokens.map { id in
            let bytes = served.tokenizer.piece(id, special: true)
            return Piece(id: id, piece: String(validating: bytes, as: UTF8.self).map(PieceText.text) ?? .bytes(bytes))
        }
        return try JSONResponse.make(PieceList(tokens: pieces))
    }

    func detokenize(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        var request = request
        let fields = try await request.jsonFields(context: context)
        let raw = try fields.array("tokens") ?? []
        var ids: [Int32] = []
        for item in raw {
            guard let t = item.intValue else { throw JSONFields.typeError("tokens", "an array of token ids") }
            guard t >= 0 && t < served.vocabularySize else {
                throw APIError.badRequest("Invalid token id \(t) in 'tokens' (vocabulary size \(served.vocabularySize))")
            }
            ids.append(Int32(t))
        }
        return try JSONResponse.make(Content(content: served.tokenizer.detokenize(ids)))
    }
}
