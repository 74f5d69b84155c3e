import Foundation
import Grammar
import Models
import Sampling
import Serving
import Tokenization

/// `cria bench --json-schema FILE`: sampled decode speed without and with a JSON schema.
///
/// Both measurements run the server's per-token path: a forward pass, `SamplerChain` with the
/// server's default parameters and a fixed seed, then `accept`. The constrained one adds the
/// engine's own `GrammarConstraint`, built fresh per run as the engine does per request, so its
/// caches start cold. The prompt (the one the end-to-end schema tests use) is ingested untimed.
///
/// Both runs decode exactly `tokens` tokens so their rates compare: when the schema's document is
/// complete and the sampler picks end-of-generation, the grammar restarts and a new document
/// begins (the unconstrained run likewise carries on past end-of-generation).
struct ConstrainedDecodeBench {
    let model: TransformerModel
    let tokenizer: Tokenizer
    let grammar: Grammar
    let grammarVocabulary: TokenVocabulary
    let prompt: [Int32]
    let tokens: Int

    /// One timed run.
    struct Run {
        /// Decoded tokens per second.
        var rate: Double
        /// Mean seconds per token spent in `SamplerChain.sample` (grammar checks and resamples included).
        var sampling: Double
        /// Mean seconds per token spent inside the grammar constraint itself.
        var grammar = 0.0
        /// Steps whose first draw the grammar rejected, so the whole vocabulary was masked and resampled.
        var resamples = 0
        /// Documents the grammar saw completed (ended by end-of-generation).
        var documents = 0
    }

    init(model: TransformerModel, schemaJSON: String, tokens: Int) throws {
        self.model = model
        self.tokens = tokens
        tokenizer = try Tokenizer(file: model.file)
        do { grammar = try JSONSchemaConverter.grammar(schemaJSON: schemaJSON) } catch {
            throw CommandError("--json-schema: \(error.description)")
        }
        grammarVocabulary = GrammarConstraint.vocabulary(for: tokenizer)
        prompt = tokenizer.tokenize("Write one JSON value that matches this JSON schema: \(schemaJSON)\nJSON:")
    }

    /// Decodes `count` tokens (default `tokens`) after the prompt, with or without the schema.
    func run(constrained: Bool, seed: Int64 = 1, count: Int? = nil) throws -> Run {
        let tokens = count ?? self.tokens
        let constraint = constrained ? CountingConstraint(GrammarConstraint(grammar: grammar, vocabulary: grammarVocabulary)) : nil
        var parameters = SamplingParameters()
        parameters.seed = seed
        let eos = Array(tokenizer.vocabulary.endOfGeneration).sorted()
        let vocabulary = VocabularyInfo(size: model.config.vocabularySize, eosTokens: eos, newlineToken: tokenizer.vocabulary.nl)
        let capacity = prompt.count + tokens
        let sampler = try SamplerChain(parameters: parameters, vocabulary: vocabulary, contextSize: capacity, constraint: constraint)
        sampler.acceptPrompt(prompt)
        let cache = model.makeCache(capacity: capacity)
        var logits = try model.forward(Batch(tokens: prompt, startPosition: 0), cache: cache)

        var documents = 0
        var sampling: UInt64 = 0
        let start = Date()
        for step in 0..<tokens {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let token = sampler.sample(logits: logits).token
            sampler.accept(token)
            sampling += DispatchTime.now().uptimeNanoseconds - t0
            if let constraint, tokenizer.isEndOfGeneration(token) {
                documents += 1
                constraint.reset()
            }
            logits = try model.forward(Batch(tokens: [token], startPosition: prompt.count + step), cache: cache)
        }
        let seconds = Date().timeIntervalSince(start)
        return Run(rate: Double(tokens) / seconds, sampling: Double(sampling) / 1e9 / Double(tokens),
                   grammar: Double(constraint?.nanoseconds ?? 0) / 1e9 / Double(tokens),
                   resamples: constraint?.masks ?? 0, documents: documents)
    }
}

/// Passes everything through to the engine's constraint, counting full-vocabulary masks and
/// the time spent inside it.
private final class CountingConstraint: TokenConstraint {
    let inner: GrammarConstraint
    private(set) var masks = 0
    private(set) var nanoseconds: UInt64 = 0

    init(_ inner: GrammarConstraint) { self.inner = inner }

    private func timed<T>(_ body: () -> T) -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { nanoseconds += DispatchTime.now().uptimeNanoseconds - t0 }
        return body()
    }

    func allows(_ token: Int32) -> Bool { timed { inner.allows(token) } }

    func maskDisallowed(_ logits: UnsafeMutableBufferPointer<Float>) {
        masks += 1
        timed { inner.maskDisallowed(logits) }
    }

    func accept(_ token: Int32) { timed { inner.accept(token) } }

    func reset() { inner.reset() }
}
