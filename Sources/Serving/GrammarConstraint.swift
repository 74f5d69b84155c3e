import Grammar
import Sampling
import Tokenization

/// Connects a `GrammarMatcher` to the sampler chain: tokens the grammar cannot accept are masked.
///
/// Public so `cria bench --json-schema` can time exactly the constraint the engine uses.
public final class GrammarConstraint: TokenConstraint {
    private let matcher: GrammarMatcher
    private let vocabulary: TokenVocabulary

    public init(grammar: Grammar, vocabulary: TokenVocabulary) {
        matcher = GrammarMatcher(grammar: grammar)
        self.vocabulary = vocabulary
    }

    /// The grammar view of a model's vocabulary: each token's rendered bytes (control tokens
    /// render as nothing, so a grammar never allows them) and the end-of-generation ids.
    /// Expensive (it builds a byte trie over the whole vocabulary): build once per model.
    public static func vocabulary(for tokenizer: Tokenizer) -> TokenVocabulary {
        let vocab = tokenizer.vocabulary
        return TokenVocabulary(tokens: (0..<vocab.count).map { tokenizer.piece(Int32($0)) },
                               eosTokenIDs: vocab.endOfGeneration)
    }

    /// True when the text so far is a complete sentence of the grammar.
    public var canEnd: Bool { matcher.canEnd }

    public func allows(_ token: Int32) -> Bool { matcher.accepts(token: token, vocabulary: vocabulary) }

    public func maskDisallowed(_ logits: UnsafeMutableBufferPointer<Float>) {
        let mask = matcher.allowedTokenMask(vocabulary: vocabulary)
        for i in logits.indices where i >= mask.count || !mask[i] { logits[i] = -.infinity }
    }

    public func accept(_ token: Int32) { matcher.accept(token: token, vocabulary: vocabulary) }

    public func reset() { matcher.reset() }
}
