import Foundation
import Hummingbird
import Serving

/// POST /rerank (also /reranking, /v1/rerank, /v1/reranking) with `--reranking`: scores each
/// document against the query with the model's ranking head, best first, as today's
/// llama-server. `texts` instead of `documents` selects the TEI shape (a bare array, `score`,
/// optional `text`).
struct RerankController {
    let host: ModelHost
    let enabled: Bool

    func addRoutes(to router: Router<AppContext>) {
        for path in ["/rerank", "/reranking", "/v1/rerank", "/v1/reranking"] {
            router.post(RouterPath(path)) { request, context in try await rerank(request, context: context) }
        }
    }

    struct Result: Encodable {
        var index: Int
        var relevance_score: Float?
        var score: Float?
        var text: String?
    }
    struct Usage: Encodable { var prompt_tokens: Int; var total_tokens: Int }
    struct Body: Encodable {
        var model: String
        var object = "list"
        var usage: Usage
        var results: [Result]
    }

    func rerank(_ request: Request, context: AppContext) async throws -> Response {
        guard enabled else { throw APIError.notSupported("This server does not support reranking. Start it with `--reranking`") }
        let served = try await host.served()
        guard let head = served.rankingHead else {
            throw APIError.notSupported("This model has no ranking head (cls.output.weight)")
        }
        var request = request
        let fields = try await request.jsonFields(context: context)
        guard let query = try fields.string("query") else { throw APIError.badRequest("Missing required field 'query'") }
        let tei = fields.has("texts")
        guard let documents = try fields.stringList(tei ? "texts" : "documents") else {
            throw APIError.badRequest("Missing required field 'documents' (an array of strings)")
        }
        guard !documents.isEmpty else { throw APIError.badRequest("'documents' must not be empty") }
        let topN = try fields.int("top_n") ?? documents.count
        guard topN >= 0 else { throw APIError.badRequest("top_n must not be negative, got \(topN)") }
        let returnText = try fields.bool("return_text") ?? false

        var results: [Result] = []
        var tokenCount = 0
        try await context.whileConnected { presence in
            for (index, document) in documents.enumerated() {
                let tokens = Self.pairTokens(query: query, document: document, template: head.promptTemplate, served: served)
                tokenCount += tokens.count
                // A client gone meanwhile ends the request (logged as 499).
                if presence.isGone { throw CancellationError() }
                let hidden: [[Float]]
                do throws(EngineError) { hidden = try await served.engine.embed(tokens, pooling: .last, isCancelled: { presence.isGone }) } catch {
                    if error == .cancelled { throw CancellationError() }
                    throw APIError.from(error)
                }
                let score = head.score(hidden[0])
                results.append(Result(index: index, relevance_score: tei ? nil : score, score: tei ? score : nil,
                                      text: tei && returnText ? document : nil))
            }
        }
        results.sort { ($0.relevance_score ?? $0.score ?? 0) > ($1.relevance_score ?? $1.score ?? 0) }
        results = Array(results.prefix(topN))
        if tei { return try JSONResponse.make(results) }
        return try JSONResponse.make(Body(model: try fields.string("model") ?? served.alias,
                                          usage: Usage(prompt_tokens: tokenCount, total_tokens: tokenCount), results: results))
    }

    /// The model's rerank prompt (`tokenizer.chat_template.rerank`, with `{query}` and `{document}`)
    /// when it has one; otherwise llama-server's pair layout: BOS query EOS document EOS, each
    /// special token only where the vocabulary asks for it (cria's decoder vocabularies never add
    /// a SEP token).
    static func pairTokens(query: String, document: String, template: String?, served: ServedModel) -> [Int32] {
        if let template {
            let text = template.replacingOccurrences(of: "{query}", with: query).replacingOccurrences(of: "{document}", with: document)
            return served.tokenizer.tokenize(text, addSpecial: false, parseSpecial: true)
        }
        let v = served.tokenizer.vocabulary
        let eos = v.eos ?? v.sep
        var tokens: [Int32] = []
        if v.addBOS, let bos = v.bos { tokens.append(bos) }
        tokens += served.tokenizer.tokenize(query, addSpecial: false)
        if v.addEOS, let eos { tokens.append(eos) }
        tokens += served.tokenizer.tokenize(document, addSpecial: false)
        if v.addEOS, let eos { tokens.append(eos) }
        return tokens
    }
}
