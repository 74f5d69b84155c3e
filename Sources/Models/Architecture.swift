import GGUF

/// What one GGUF `general.architecture` changes in the shared forward pass: which optional steps
/// apply (query/key norms, soft-caps, RoPE factors, multipliers, norm placement) and the keys
/// they are read from. One small type per architecture, in `Architectures/`; the forward pass
/// itself (`TransformerModel`) is written once.
protocol Architecture {
    /// The `general.architecture` value.
    static var name: String { get }
    /// Sets the architecture's choices on a configuration that already holds the common
    /// hyper-parameters and llama.cpp's defaults.
    static func configure(_ c: inout ModelConfiguration, _ keys: ArchitectureMetadata) throws
}

/// The architectures Cria can run.
enum Architectures {
    static let all: [any Architecture.Type] = [
        BERT.self, Gemma2.self, Gemma3.self, GptOss.self, Granite.self, Llama.self, NomicBERT.self, OLMo2.self, Phi3.self,
        Qwen2.self, Qwen2MoE.self, Qwen3.self, Qwen3MoE.self, SmolLM3.self,
    ]

    static func named(_ name: String) -> (any Architecture.Type)? { all.first { $0.name == name } }
}

/// GGUF metadata read under an architecture's prefix (`qwen3.attention.head_count` as
/// `int("attention.head_count")`).
struct ArchitectureMetadata {
    let metadata: GGUFMetadata
    let architecture: String

    func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }
    func int(_ suffix: String) -> Int? { metadata.int(key(suffix)) }
    func float(_ suffix: String) -> Float? { metadata.float(key(suffix)) }
    func string(_ suffix: String) -> String? { metadata.string(key(suffix)) }

    /// A per-layer array of bools, nil when the key is absent or not such an array.
    func boolArray(_ suffix: String) -> [Bool]? {
        guard let items = metadata.array(key(suffix)), !items.isEmpty else { return nil }
        var out: [Bool] = []
        for item in items {
            guard case let .bool(b) = item else { return nil }
            out.append(b)
        }
        return out
    }

    /// An integer that must be present; a per-layer array gives its first value.
    func required(_ suffix: String) throws -> Int {
        if let v = int(suffix) { return v }
        if let arr = metadata.intArray(key(suffix)), let first = arr.first { return first }
        throw ModelError.missingMetadata(key: key(suffix))
    }
}
