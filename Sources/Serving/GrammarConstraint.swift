import Grammar
import Sampling

/// Connects a `GrammarMatcher` to the sampler chain: tokens the grammar cannot accept are masked.
final class GrammarConstraint: TokenConstraint {
    private let matcher: GrammarMatcher
    private let vocabulary: TokenVocabulary

    init(grammar: Grammar, vocabulary: TokenVocabulary) {
        matcher = GrammarMatcher(grammar: grammar)
        self.vocabulary = vocabulary
    }

    /// True when the text so far is a complete sentence of the grammar.
    var canEnd: Bool { matcher.canEnd }

    func allows(_ token: Int32) -> Bool { matcher.accepts(token: token, vocabulary: vocabulary) }

    func maskDisallowed(_ logits: UnsafeMutableBufferPointer<Float>) {
        let mask = matcher.allowedTokenMask(vocabulary: vocabulary)
        for i in logits.indices where i >= mask.count || !mask[i] { logits[i] = -.infinity }
    }

    func accept(_ token: Int32) { matcher.accept(token: token, vocabulary: vocabulary) }

    func reset() { matcher.reset() }
}
