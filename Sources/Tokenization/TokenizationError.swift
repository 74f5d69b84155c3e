/// Why a tokenizer could not be built from a model's metadata.
///
/// Each case names the offending key or value so that `cria` can print it as is: a model that
/// cannot be tokenized must fail at load time with a message that says what to fix, never later
/// with a wrong token stream.
public enum TokenizationError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `tokenizer.ggml.model` names a tokenizer family this module does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a BPE pre-tokenizer this module does not implement.
    case unsupportedPreTokenizer(String)
    /// A required key is absent.
    case missingKey(String)
    /// A key is present but unusable (wrong type, wrong length, out-of-range id).
    case invalidMetadata(key: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedModel(name):
            return "unsupported tokenizer model '\(name)' (tokenizer.ggml.model); supported: 'llama' (SentencePiece), 'gpt2' (byte-level BPE), 'gemma4' (raw-text BPE), 'bert' (WordPiece)"
        case let .unsupportedPreTokenizer(name):
            return "unsupported BPE pre-tokenizer '\(name)' (tokenizer.ggml.pre); supported: \(PreTokenizer.supportedNames.joined(separator: ", "))"
        case let .missingKey(key):
            return "tokenizer metadata key '\(key)' is missing"
        case let .invalidMetadata(key, reason):
            return "tokenizer metadata key '\(key)' is invalid: \(reason)"
        }
    }
}
