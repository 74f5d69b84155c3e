/// A hook for constrained decoding (grammars, JSON schemas): decides which tokens may come next.
///
/// The chain uses it llama.cpp-style: it samples normally first and only asks `allows` about the
/// chosen token; if that token is rejected it calls `maskDisallowed` over the whole (penalised)
/// vocabulary and samples again. After the engine emits a token it calls `SamplerChain.accept`,
/// which forwards to `accept` here. A grammar module conforms through an adapter in the engine.
public protocol TokenConstraint: AnyObject {
    /// Whether `token` may be emitted in the current state.
    func allows(_ token: Int32) -> Bool
    /// Sets `logits[t] = -inf` for every token t that is not allowed. The default loops over `allows`;
    /// implementations with a faster batch check should override it.
    func maskDisallowed(_ logits: UnsafeMutableBufferPointer<Float>)
    /// Advances the state with the emitted token.
    func accept(_ token: Int32)
    /// Returns to the initial state.
    func reset()
    /// Why the constraint can no longer decide which tokens are allowed (a grammar that ran out
    /// of its work budget), or nil. Once set, it allows nothing, and the generation must fail
    /// with this reason rather than end as if the constraint had finished.
    var failure: String? { get }
}

extension TokenConstraint {
    public var failure: String? { nil }

    public func maskDisallowed(_ logits: UnsafeMutableBufferPointer<Float>) {
        for i in logits.indices where logits[i] != -.infinity {
            if !allows(Int32(truncatingIfNeeded: i)) { logits[i] = -.infinity }
        }
    }
}
