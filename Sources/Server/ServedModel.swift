import Foundation
import Models
import Sampling
import Serving
import Templates
import Tokenization

/// The loaded model as the HTTP layer sees it: the engine, its tokenizer, the chat template and
/// the names and numbers the info routes report.
public final class ServedModel: Sendable {
    public let engine: Engine
    public let tokenizer: Tokenizer
    public let chatTemplate: ChatTemplate
    /// `-m` path as given.
    public let modelPath: String
    /// `-a`, or the model's path.
    public let alias: String
    public let createdAt: Int
    /// Every `-a` name (comma-separated); `alias` is the first in sorted order, as llama-server.
    public let aliases: [String]
    /// `--tags`.
    public let tags: [String]
    /// Server-wide sampling defaults (`--temp`, `--seed`, …) under each request's own options.
    public let samplingDefaults: SamplingParameters
    /// `--reasoning`: whether chat templates are told to think.
    public let reasoning: ReasoningMode
    /// `--reranking`: the model's classification head.
    public let rankingHead: RankingHead?

    public init(engine: Engine, tokenizer: Tokenizer, chatTemplate: ChatTemplate, modelPath: String, alias: String?,
                aliases: [String] = [], tags: [String] = [], samplingDefaults: SamplingParameters = SamplingParameters(),
                reasoning: ReasoningMode = .auto, rankingHead: RankingHead? = nil) {
        self.engine = engine
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.modelPath = modelPath
        self.alias = alias ?? modelPath
        self.aliases = aliases
        self.tags = tags
        self.samplingDefaults = samplingDefaults
        self.reasoning = reasoning
        self.rankingHead = rankingHead
        createdAt = Int(Date().timeIntervalSince1970)
    }

    var vocabularySize: Int { engine.model.config.vocabularySize }

    /// Text of a special token, for chat templates.
    func tokenText(_ id: Int32?) -> String {
        guard let id else { return "" }
        return tokenizer.pieceString(id, special: true)
    }

    /// A text `penalty_prompt` as the sampler tokenizes it (no BOS), for `generation_settings`.
    func penaltyTokens(_ text: String) -> [Int32] { tokenizer.tokenize(text, addSpecial: false) }

    /// Whether the model has the three FIM tokens /infill needs.
    var supportsInfill: Bool {
        let v = tokenizer.vocabulary
        return v.fimPrefix != nil && v.fimSuffix != nil && v.fimMiddle != nil
    }
}

/// Loading state of the server: /health reports it; other routes answer 503 until ready.
public final class ModelHost: Sendable {
    public enum State: Sendable {
        case loading
        case ready(ServedModel)
        case failed(String)
        /// Started without `-m`: like llama-server's router with no model to offer.
        case noModel
    }

    private let lock = NSLock()
    nonisolated(unsafe) private var _state: State = .loading

    public init() {}

    public init(model: ServedModel) { _state = .ready(model) }

    public var state: State { lock.withLock { _state } }

    public func set(_ state: State) { lock.withLock { _state = state } }

    /// The model, or a 503 while it loads / 500 if it failed.
    func served() throws(APIError) -> ServedModel {
        switch state {
        case .ready(let m): return m
        case .loading: throw APIError.loading
        case .failed(let message): throw APIError(.internalServerError, .server, "Model failed to load: \(message)")
        case .noModel:
            throw APIError.badRequest("No model is loaded: this server was started without -m, and cria has no model "
                                      + "router to load one by name; restart cria serve with -m PATH")
        }
    }
}
