/// One function call read from a model's reply. While a reply is still streaming, the last call
/// may be incomplete: its `arguments` are then a prefix of their final text.
struct ParsedToolCall: Equatable, Sendable {
    var name: String
    /// The arguments as JSON text, exactly as the model wrote them (OpenAI sends a string).
    var arguments: String
    /// An id the model wrote itself (Mistral, Command R), else nil and the server makes one.
    var id: String?
    var isComplete = true
}

/// A model's reply split into what the client sees: text, thoughts and tool calls.
struct ParsedMessage: Equatable, Sendable {
    var content = ""
    var reasoning = ""
    var toolCalls: [ParsedToolCall] = []
}

/// One model family's way of writing tool calls in its output.
protocol ToolCallSyntax: Sendable {
    /// Splits `text` into content and calls. With `partial` the text is a prefix of the reply:
    /// content that might still turn into a call marker is held back and the last call may be
    /// incomplete. Nil when the text breaks the format (the caller then treats it as content).
    func parse(_ text: String, partial: Bool) -> ParsedMessage?
}

/// Why a syntax stopped reading: the text ends too early (only while streaming) or breaks the format.
enum OutputParseStop: Error {
    case needMore
    case invalid
}
