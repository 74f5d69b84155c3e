import Foundation
import Models
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

    public init(engine: Engine, tokenizer: Tokenizer, chatTemplate: ChatTemplate, modelPath: String, alias: String?) {
        self.engine = engine
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.modelPath = modelPath
        self.alias = alias ?? modelPath
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
        }
    }
}
