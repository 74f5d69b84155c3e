/// A limit on how many tokens a reply may think for (llama-server's `--reasoning-budget N` and a
/// request's `reasoning_budget_tokens`).
///
/// Once the reply has generated `tokens` tokens inside its thinking block, the engine stops
/// sampling and feeds `message` followed by the closing marker instead, token by token through
/// the model like sampled tokens, so the reply goes on after a properly closed block.
public struct ReasoningBudget: Sendable, Equatable {
    /// Tokens the reply may generate inside a thinking block; 0 closes the block at once.
    public var tokens: Int
    /// The marker that opens a thinking block (`<think>`).
    public var open: String
    /// The marker that closes it (`</think>`); the forced end of thinking ends with it.
    public var close: String
    /// Text forced in front of `close` when the budget runs out (`--reasoning-budget-message`).
    public var message: String
    /// The prompt already opened the block (the template's generation prompt ends with `open`),
    /// so counting starts with the first generated token; otherwise it starts after the reply
    /// writes `open` itself.
    public var startsInside: Bool

    public init(tokens: Int, open: String, close: String, message: String = "", startsInside: Bool) {
        self.tokens = tokens
        self.open = open
        self.close = close
        self.message = message
        self.startsInside = startsInside
    }

    /// The largest budget accepted (llama-server's limit: a 32-bit count).
    public static let maxTokens = Int(Int32.max)

    /// Why this budget cannot be used, or nil when it can.
    var problem: String? {
        if !(0...Self.maxTokens).contains(tokens) {
            return "the reasoning budget must be -1 (unlimited) or between 0 and \(Self.maxTokens) tokens, got \(tokens)"
        }
        if open.isEmpty || close.isEmpty { return "the reasoning budget needs non-empty thinking markers" }
        return nil
    }
}
